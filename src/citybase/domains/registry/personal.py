"""Personal data at rest and on screen: encryption, keyed hashes for look-ups, masking.

Identity numbers, names and phones are stored encrypted (AES-256-GCM from ``cryptography``) with a key
kept in a file outside the database, so a database dump alone reveals nothing; a keyed hash
(HMAC-SHA-256 with a key derived from the same secret) lets the registry find a person by identity
number without decrypting every row. Masked forms (4201**********1234, 张*, 138****5678) are what every
caller sees unless its role or grant allows the full value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from citybase.kernel.errors import CityBaseError

_NONCE = 12
_VERSION = "v1"


class PersonalKeyError(CityBaseError):
    """The personal-data key file is missing, unreadable or malformed."""


def load_or_create_key(path: Path) -> bytes:
    """Read the base64 key at ``path``; create it (mode 0600) when it does not exist yet."""
    if path.exists():
        try:
            key = base64.b64decode(path.read_text(encoding="ascii").strip(), validate=True)
        except (ValueError, OSError) as exc:
            raise PersonalKeyError(f"personal-data key {path} is unreadable: {exc}") from exc
        if len(key) != 32:
            raise PersonalKeyError(f"personal-data key {path} must hold 32 bytes (base64), found {len(key)}")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(base64.b64encode(key).decode() + "\n")
    return key


class PersonalData:
    """Encrypts, decrypts and hashes personal values with one secret (see module docstring)."""

    def __init__(self, secret: bytes) -> None:
        # Separate keys for encryption and hashing, derived from the one secret in the key file.
        self._aead = AESGCM(hmac.digest(secret, b"citybase/personal/encrypt", "sha256"))
        self._hash_key = hmac.digest(secret, b"citybase/personal/lookup", "sha256")

    @classmethod
    def from_file(cls, path: Path) -> PersonalData:
        return cls(load_or_create_key(path))

    def encrypt(self, value: str) -> str:
        nonce = secrets.token_bytes(_NONCE)
        sealed = self._aead.encrypt(nonce, value.encode("utf-8"), None)
        return f"{_VERSION}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str) -> str:
        version, _, body = token.partition(":")
        if version != _VERSION:
            raise PersonalKeyError(f"unknown personal-data cipher version {version!r}")
        raw = base64.b64decode(body)
        return self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], None).decode("utf-8")

    def lookup_hash(self, value: str) -> str:
        """A keyed hash of a normalised value: equal inputs give equal hashes, but only with the key."""
        return hmac.new(self._hash_key, value.strip().upper().encode("utf-8"), hashlib.sha256).hexdigest()


def mask_id(number: str) -> str:
    """4201**********1234: the province and city prefix and the last four characters stay visible."""
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_name(name: str) -> str:
    """张* / 欧阳** : the first character stays (two for known double surnames)."""
    name = name.strip()
    if not name:
        return ""
    keep = 2 if len(name) > 2 and name[:2] in DOUBLE_SURNAMES else 1
    return name[:keep] + "*" * max(1, len(name) - keep)


def mask_phone(phone: str) -> str:
    """138****5678 for mobiles; other numbers keep their last four digits."""
    digits = phone.strip()
    if len(digits) == 11 and digits.isdigit():
        return digits[:3] + "****" + digits[-4:]
    if len(digits) <= 4:
        return "*" * len(digits)
    return "*" * (len(digits) - 4) + digits[-4:]


_DOUBLE_SURNAMES_TEXT = (
    "欧阳 太史 端木 上官 司马 东方 独孤 南宫 万俟 闻人 夏侯 诸葛 尉迟 公羊 赫连 澹台 皇甫 宗政 濮阳 公冶 "
    "太叔 申屠 公孙 慕容 仲孙 钟离 长孙 宇文 司徒 鲜于 司空 闾丘 子车 亓官 司寇 巫马 公西 颛孙 壤驷 公良 "
    "漆雕 乐正 宰父 谷梁 拓跋 夹谷 轩辕 令狐 段干 百里 呼延 东郭 南门 羊舌 微生 公户 公玉 公仪 梁丘 公仲 "
    "公上 公门 公山 公坚 左丘 公伯 西门 公祖 第五 公乘 贯丘 公皙 南荣 东里 东宫 仲长 子书 子桑 即墨 达奚 "
    "褚师 "
)
DOUBLE_SURNAMES = frozenset(_DOUBLE_SURNAMES_TEXT.split())
