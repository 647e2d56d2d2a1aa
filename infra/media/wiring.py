"""Which storage holds the avatars, built from the settings (nothing connects at import)."""

from __future__ import annotations

from pathlib import Path

import boto3
from botocore.config import Config

from infra.media.folder import FolderStorage
from infra.media.images import PillowAvatarImages
from infra.media.s3 import S3Storage
from infra.settings import Settings
from write_side.avatars.ports import MediaStorage
from write_side.avatars.service import Avatars
from write_side.event_store import EventStore

MEDIA_PATH = "/media"  # where the API serves the folder storage


def storage_mode(settings: Settings) -> str:
    """`folder` or `s3`: `auto` is s3 when a bucket is named."""
    if settings.storage == "auto":
        return "s3" if settings.s3_bucket else "folder"
    return settings.storage


def media_folder(settings: Settings) -> Path | None:
    """The folder the API serves at /media (None: media are in object storage)."""
    return settings.data_dir / "media" if storage_mode(settings) == "folder" else None


def media_storage(settings: Settings) -> MediaStorage:
    folder = media_folder(settings)
    if folder is not None:
        return FolderStorage(folder, settings.media_base_url or MEDIA_PATH)
    if not settings.s3_bucket:
        raise ValueError("ITINERA_STORAGE=s3 needs ITINERA_S3_BUCKET")
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region,
        aws_access_key_id=settings.s3_access_key_id,
        aws_secret_access_key=settings.s3_secret_access_key,
        config=Config(
            connect_timeout=5,
            read_timeout=30,
            retries={"max_attempts": 3, "mode": "standard"},
            # Path-style URLs for S3-compatible servers (MinIO, Ceph) that have no
            # per-bucket host names.
            s3={"addressing_style": "path" if settings.s3_endpoint_url else "auto"},
        ),
    )
    return S3Storage(client, settings.s3_bucket, settings.media_base_url or _bucket_url(settings))


def _bucket_url(settings: Settings) -> str:
    if settings.s3_endpoint_url:
        return f"{settings.s3_endpoint_url.rstrip('/')}/{settings.s3_bucket}"
    region = settings.s3_region or "us-east-1"
    return f"https://{settings.s3_bucket}.s3.{region}.amazonaws.com"


def avatar_service(settings: Settings, events: EventStore) -> Avatars:
    return Avatars(events, PillowAvatarImages(), media_storage(settings), settings.avatar_sizes)
