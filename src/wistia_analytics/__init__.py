"""wistia-analytics: Wistia video-engagement analytics, from the API to a Bronze/Silver/Gold lake."""

__version__ = "0.1.0"
