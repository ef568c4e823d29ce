"""Word lists the synthetic account draws from: names, places, devices, traffic sources."""

from __future__ import annotations

from wistia_analytics.contracts.channels import CHANNELS

__all__ = ["CHANNELS"]

# The sandbox draws traffic in the product's channel vocabulary (defined once, with the rules, in
# contracts/channels.py). The transform derives the channel back from each embed URL; the sandbox never sends
# the channel itself.
CHANNEL_BASE_WEIGHTS: tuple[float, ...] = (0.15, 0.09, 0.10, 0.05, 0.07, 0.17, 0.15, 0.17, 0.05)

# How each channel shows up in an embed URL's query string (one is picked per session).
CHANNEL_QUERY_VARIANTS: dict[str, tuple[str, ...]] = {
    "facebook": (
        "utm_source=facebook&utm_medium=paid_social&utm_campaign={campaign}",
        "utm_source=fb&utm_medium=social&utm_campaign={campaign}",
        "fbclid=IwAR{token}",
        "UTM_SOURCE=Facebook&utm_medium=cpc",
    ),
    "youtube": (
        "utm_source=youtube&utm_medium=video&utm_campaign={campaign}",
        "utm_source=YouTube&utm_medium=social",
    ),
    "linkedin": (
        "utm_source=linkedin&utm_medium=paid_social&utm_campaign={campaign}",
        "utm_source=LinkedIn&utm_medium=social",
        "li_fat_id={token}",
    ),
    "x": (
        "utm_source=twitter&utm_medium=social&utm_campaign={campaign}",
        "utm_source=x&utm_medium=social",
        "utm_source=t.co",
        "twclid={token}",
    ),
    "instagram": (
        "utm_source=instagram&utm_medium=social&utm_campaign={campaign}",
        "utm_source=ig&utm_medium=paid_social",
    ),
    "email": (
        "utm_source=newsletter&utm_medium=email&utm_campaign={campaign}",
        "utm_source=hubspot&utm_medium=email",
        "mc_cid={token}&mc_eid={token}",
        "utm_medium=Email&utm_source=marketo",
    ),
    "search": (
        "utm_source=google&utm_medium=cpc&utm_campaign={campaign}",
        "gclid={token}",
        "utm_source=bing&utm_medium=organic",
        "msclkid={token}",
    ),
    "direct": ("",),
    "other": (
        "utm_source=partner-newsletter&utm_medium=referral",
        "utm_source=g2&utm_medium=review_site",
        "ref=producthunt",
    ),
}

CAMPAIGNS = ("spring_launch", "q3_webinar", "brand_awareness", "retargeting", "product_tour", "case_study")
SITE_PATHS = (
    "",
    "blog/how-we-ship",
    "product/tour",
    "customers",
    "pricing",
    "webinars/replay",
    "resources/guide",
)
PARTNER_HOSTS = ("https://partner-example.org/reviews", "https://community.example.net/threads/video")

PROJECT_NAMES = (
    "Marketing Site",
    "Customer Stories",
    "Product Tutorials",
    "Webinars",
    "Sales Enablement",
    "Brand Campaigns",
    "Onboarding",
    "Events & Conferences",
    "Social Cuts",
    "Release Notes",
)
MEDIA_TOPICS = (
    "Product Tour",
    "Customer Story: Northwind",
    "How to Set Up Your Workspace",
    "Quarterly Webinar",
    "Founder Keynote",
    "Feature Deep Dive",
    "Getting Started in 90 Seconds",
    "Behind the Scenes",
    "Pricing Explained",
    "Integrations Walkthrough",
    "Case Study: Contoso",
    "Team Culture",
    "Launch Teaser",
    "Security Overview",
    "Analytics Masterclass",
)

COUNTRIES: tuple[tuple[str, float, tuple[tuple[str, str, float, float], ...]], ...] = (
    # country, weight, (region, city, lat, lon)...
    (
        "US",
        0.42,
        (
            ("California", "San Francisco", 37.7749, -122.4194),
            ("New York", "New York", 40.7128, -74.006),
            ("Texas", "Austin", 30.2672, -97.7431),
            ("Florida", "Miami", 25.7617, -80.1918),
            ("WA", "Seattle", 47.6103, -122.334),
        ),
    ),
    ("GB", 0.10, (("England", "London", 51.5072, -0.1276), ("Scotland", "Edinburgh", 55.9533, -3.1883))),
    ("CA", 0.07, (("Ontario", "Toronto", 43.6532, -79.3832), ("Quebec", "Montreal", 45.5019, -73.5674))),
    ("DE", 0.07, (("Berlin", "Berlin", 52.52, 13.405), ("Bavaria", "Munich", 48.1351, 11.582))),
    ("IN", 0.08, (("Karnataka", "Bengaluru", 12.9716, 77.5946), ("Maharashtra", "Mumbai", 19.076, 72.8777))),
    ("AU", 0.05, (("New South Wales", "Sydney", -33.8688, 151.2093),)),
    ("BR", 0.05, (("Sao Paulo", "Sao Paulo", -23.5558, -46.6396),)),
    ("FR", 0.05, (("Ile-de-France", "Paris", 48.8566, 2.3522),)),
    ("AR", 0.03, (("07", "Buenos Aires", -34.5875, -58.6725),)),
    ("JP", 0.04, (("Tokyo", "Tokyo", 35.6762, 139.6503),)),
    ("NL", 0.04, (("North Holland", "Amsterdam", 52.3676, 4.9041),)),
)
ORGS = (
    "Comcast Cable",
    "Verizon Business",
    "Deutsche Telekom AG",
    "BT Public Internet Service",
    "Onvia.com",
    "CABLEVISION S.A.",
    "Amazon.com",
    "Google LLC",
    "Reliance Jio",
    "Rogers Communications",
)
DEVICES: tuple[tuple[str, str, str, bool, float], ...] = (
    # browser, version, platform, mobile, weight
    ("Chrome", "141", "mac", False, 0.22),
    ("Chrome", "140", "windows", False, 0.25),
    ("Safari", "18", "mac", False, 0.08),
    ("Edge", "141", "windows", False, 0.07),
    ("Firefox", "143", "linux", False, 0.03),
    ("Mobile Safari", "18", "iOS (iPhone)", True, 0.18),
    ("Chrome", "141", "Android", True, 0.12),
    ("Unknown Browser", "0", "iOS (iPhone)", True, 0.05),
)
FIRST_NAMES = (
    "Ada",
    "Ben",
    "Chloe",
    "Dev",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jamal",
    "Kira",
    "Luis",
    "Maya",
    "Noah",
    "Olga",
    "Priya",
    "Quinn",
    "Rosa",
    "Sam",
    "Tariq",
    "Uma",
    "Viktor",
    "Wen",
    "Yara",
)
LAST_NAMES = (
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Patel",
    "Garcia",
    "Nakamura",
    "Schmidt",
    "Kowalski",
    "Haddad",
    "Osei",
    "Rossi",
    "Fischer",
    "Silva",
    "Chen",
    "Novak",
    "Dubois",
)
COMPANIES = (
    "Northwind Traders",
    "Contoso Ltd",
    "Fabrikam",
    "Globex",
    "Initech",
    "Umbrella Health",
    "Stark Logistics",
    "Wayne Analytics",
    "Acme Corp",
    "Hooli",
)
TITLES = (
    "Marketing Manager",
    "Head of Growth",
    "VP Sales",
    "Content Strategist",
    "CTO",
    "Product Marketer",
    None,
)
