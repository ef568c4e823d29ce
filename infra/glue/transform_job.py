"""AWS Glue script (ScriptLocation of the transform job): everything lives in the wistia-analytics wheel."""

from wistia_analytics.aws.glue_job import run

run()
