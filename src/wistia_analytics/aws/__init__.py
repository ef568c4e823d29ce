"""The AWS shape: Lambda handlers, the token from Secrets Manager, CloudWatch metrics, the Glue entry.

Nothing here is imported by the local commands; the modules import boto3 and powertools lazily or only
when AWS runs them, so the embedded path needs neither.
"""
