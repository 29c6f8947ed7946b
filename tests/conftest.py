"""Shared fixtures: a CliRunner, a sample source folder with Chinese names, and a package builder."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

# the real servers (sshd, SeaweedFS S3) as session fixtures for tests/transport and tests/e2e
pytest_plugins = ["tests.servers.fixtures"]

SAMPLE_METADATA = {
    "档号": "0012-WS·2007-Y-BGS-0012",
    "题名": "柳州市人民政府关于做好2007年春季植树造林工作的通知",
    "文件编号": "柳政发〔2007〕12号",
    "责任者": "柳州市人民政府",
    "日期": "2007年3月5日",
    "密级": "公开",
    "机构标识": "LZ0012",
    "全宗名称": "柳州市人民政府",
    "立档单位名称": "柳州市人民政府办公室",
    "页数": 2,
    "主题词": "林业；植树；通知",
    "正文": "正文.pdf",
}

PDF_BYTES = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def write_sample_source(folder: Path) -> Path:
    """A document folder: 正文.pdf, an attachment in a Chinese subfolder; returns ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "正文.pdf").write_bytes(PDF_BYTES)
    (folder / "附件").mkdir(exist_ok=True)
    (folder / "附件" / "附件1 植树任务分解表.txt").write_text("城中区 1200株\n鱼峰区 800株\n", encoding="utf-8")
    (folder / "附件" / "说明.txt").write_bytes(b"")  # an empty file is a file too
    return folder


def write_sample_metadata(path: Path, **changes: object) -> Path:
    """A JSON sidecar with Chinese keys (``changes`` override or, with None, remove keys)."""
    data: dict[str, object] = dict(SAMPLE_METADATA)
    for k, v in changes.items():
        if v is None:
            data.pop(k, None)
        else:
            data[k] = v
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def sample_record_data() -> dict[str, object]:
    """The sample metadata as a dict with Chinese keys (a fresh copy)."""
    return dict(SAMPLE_METADATA)


@pytest.fixture
def metadata_writer() -> Callable[..., Path]:
    """``metadata_writer(path, **changes)``: write the sample JSON sidecar with changes (None removes)."""
    return write_sample_metadata


@pytest.fixture
def sample_source(tmp_path: Path) -> Path:
    return write_sample_source(tmp_path / "src" / "柳政发〔2007〕12号")


@pytest.fixture
def sample_metadata(tmp_path: Path) -> Path:
    return write_sample_metadata(tmp_path / "元数据.json")


@pytest.fixture
def build_sample(tmp_path: Path, sample_source: Path, sample_metadata: Path) -> Callable[..., Path]:
    """Factory: ``build_sample(name, zip=False, sm3=False, source=None)`` builds a package in tmp_path."""
    from govarc.package.build import build_package
    from govarc.package.metadata import load_metadata

    def build(name: str = "pkg", *, zip: bool = False, sm3: bool = False, source: Path | None = None) -> Path:
        out = tmp_path / "out" / name
        build_package(source or sample_source, load_metadata(sample_metadata), out, zip=zip, sm3=sm3, durable=False)
        return out

    return build
