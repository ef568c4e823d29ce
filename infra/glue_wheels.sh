#!/usr/bin/env bash
# The Glue job's dependencies besides the package, as pinned wheels shipped with the deployment:
# s3fs and everything it needs at the versions constraints.txt pins, for Glue 5.0 (CPython 3.11, manylinux x86_64),
# downloaded here (at deploy time), uploaded to s3://BUCKET/PREFIX/glue-wheels/TAG/, and printed as the
# comma-separated S3 URIs the template's GlueDependencyWheels parameter takes. The job installs exactly these
# files with `--no-index --no-deps`: nothing is resolved or fetched from a package index when it runs.
# Usage: infra/glue_wheels.sh BUCKET PREFIX TAG
set -euo pipefail
bucket="$1" prefix="$2" tag="$3"
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$(mktemp -d)"
python -m pip download --quiet --dest "$out" --only-binary=:all: \
  --platform manylinux2014_x86_64 --python-version 3.11 --implementation cp \
  --constraint "$root/constraints.txt" s3fs
uris=()
for wheel in "$out"/*.whl; do
  uri="s3://${bucket}/${prefix}/glue-wheels/${tag}/$(basename "$wheel")"
  aws s3 cp --quiet "$wheel" "$uri"
  uris+=("$uri")
done
(IFS=,; echo "${uris[*]}")
