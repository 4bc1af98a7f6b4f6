"""Files uploaded for a job: read up to a limit, refused when empty or too large, kept under
``<data dir>/uploads`` until the job has read them."""

from __future__ import annotations

from pathlib import Path

from fastapi import UploadFile

from citybase.kernel.errors import InvalidInputError, Issue


async def save_upload(data_dir: Path, file: UploadFile, name: str, limit: int, *, private: bool = False) -> Path:
    """Write ``file`` as ``uploads/<name>``; ``private`` files (personal data) are readable by the
    server's user only."""
    data = await file.read(limit + 1)
    if not data:
        raise InvalidInputError("empty upload", issues=[Issue("file", "no bytes")])
    if len(data) > limit:
        raise InvalidInputError("upload too large", issues=[Issue("file", f"more than {limit} bytes")])
    uploads = data_dir / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    path = uploads / name
    if private:
        path.touch(mode=0o600)
    path.write_bytes(data)
    return path
