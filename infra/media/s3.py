"""Stored media in S3-compatible object storage (distributed mode: every API instance sees
the same files). boto3 is synchronous: callers run these methods off the event loop."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from write_side.errors import DependencyUnavailableError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

IMMUTABLE = "public, max-age=31536000, immutable"
DELETE_BATCH = 1000  # the most keys one DeleteObjects call takes


class S3Storage:
    """Objects in `bucket`, read at `base_url` (the bucket's public URL or a CDN). Reading
    needs no credentials: the bucket (or the CDN) must allow anonymous GET of `avatars/`."""

    def __init__(self, client: S3Client, bucket: str, base_url: str) -> None:
        self._client = client
        self._bucket = bucket
        self._base_url = base_url.rstrip("/")

    def put(self, key: str, data: bytes, content_type: str) -> None:
        try:
            self._client.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=data,
                ContentType=content_type,
                CacheControl=IMMUTABLE,
            )
        except (BotoCoreError, ClientError) as error:
            raise DependencyUnavailableError("object storage") from error

    def delete(self, prefix: str) -> None:
        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self._bucket, Prefix=prefix
            )
            keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
            for start in range(0, len(keys), DELETE_BATCH):
                batch = keys[start : start + DELETE_BATCH]
                answer = self._client.delete_objects(
                    Bucket=self._bucket,
                    Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True},
                )
                if answer.get("Errors"):
                    raise DependencyUnavailableError("object storage")
        except (BotoCoreError, ClientError) as error:
            raise DependencyUnavailableError("object storage") from error

    def url(self, key: str) -> str:
        return f"{self._base_url}/{key}"
