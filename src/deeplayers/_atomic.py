"""Atomic file writes and the checked ``.npz`` container used by model files and checkpoints.

Writing: the bytes go to a temporary file in the destination's directory, are flushed and
``fsync``-ed, then ``os.replace`` puts the file in place in one step and the directory is
``fsync``-ed, so a crash (even ``kill -9``) leaves either the old file or the new one, never a mix.
If the write fails the temporary file is removed and the earlier file is untouched. The
temporary file of a writer killed mid-write (``kill -9``) is removed by the next write to the
same path, once its process is gone, so crashes never pile up temporary files.

The container (``save_npz_with_header`` / ``load_npz_with_header``) is a plain ``.npz`` (a zip of
``.npy`` members, written by ``np.savez``) holding named numeric arrays plus one member
``__header__``: the JSON header as a uint8 array. The header records the container format and
version, each array's dtype and shape, and a SHA-256 over the arrays. Loading never unpickles:
it reads the zip directory and each member's ``.npy`` header first, checks every size and claim
before allocating anything, reads the data with no pickle support at all, and verifies the
checksum. Every refusal is a :class:`~deeplayers.errors.ModelFileError` naming the file, what is
wrong, and what to do.

SHA-256 definition (stable, documented so other tools can check files): for each array name in
sorted order, feed ``name``, a NUL byte, ``dtype.str`` (e.g. ``<f8``), a NUL byte, the shape as
comma-separated decimal integers, a NUL byte, then the array's bytes in C order.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import socket
import struct
import tempfile
import tokenize
import warnings
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.lib.format as npy_format

from ._version import __version__
from .errors import ModelFileError

__all__ = [
    "atomic_write", "atomic_write_bytes", "save_npz_with_header", "load_npz_with_header", "arrays_sha256",
    "FORMAT", "FORMAT_VERSION", "HEADER_KEY", "MAX_BYTES", "MAX_HEADER_BYTES",
]

#: the value of ``header["format"]`` in every file this module writes
FORMAT = "deeplayers"
#: container version written now; files with a larger one are refused as "newer"
FORMAT_VERSION = 1
#: name of the member holding the JSON header
HEADER_KEY = "__header__"
#: default ceiling on the total uncompressed size of a file's arrays (refused beyond it)
MAX_BYTES = 8 * 2**30
#: ceiling on the JSON header's size
MAX_HEADER_BYTES = 64 * 2**20
#: header keys the container owns; a caller's header may not set them
RESERVED_KEYS = ("format", "format_version", "arrays", "sha256")

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
# array kinds a file may hold: bool, ints, floats, complex, fixed-width bytes/unicode. Never
# object ("O", unpickled) and never structured/void ("V"), which can nest objects.
_SAFE_KINDS = set("biufcSU")


# -- atomic writes ---------------------------------------------------------------------------------
def _fsync_dir(directory: Path) -> None:
    # makes the rename itself durable; not possible on every platform/file system, so best effort
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


_WRITER_HOST = re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname())[:40] or "host"


def _remove_stale_temps(directory: Path, name: str) -> None:
    """Delete temporary files for ``name`` left by writers on this host that no longer run.

    A ``kill -9`` during a write leaves its temporary file (nothing can remove it at that
    moment); without this, repeated crashes would pile them up beside the model or checkpoint.
    Only files tagged with this host and a process id that is gone are removed (POSIX only:
    there ``os.kill(pid, 0)`` merely asks whether the process exists).
    """
    if os.name != "posix":
        return
    pattern = re.compile(re.escape(f".{name}.{_WRITER_HOST}-") + r"(\d+)\.[^.]+\.tmp$")
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        match = pattern.match(entry.name)
        if match is None:
            continue
        pid = int(match.group(1))
        if pid == os.getpid():
            continue  # this process's own writes are cleaned up by atomic_write itself
        try:
            os.kill(pid, 0)
            continue  # alive (or reused by another process): leave the file alone
        except ProcessLookupError:
            pass
        except (PermissionError, OSError):
            continue
        with contextlib.suppress(OSError):
            os.unlink(entry.path)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO[Any]]:
    """Context manager yielding a file object whose content replaces ``path`` only on success.

    The file is a temporary one in the same directory (so ``os.replace`` is an atomic rename on the
    same file system). On a clean exit it is flushed, ``fsync``-ed and renamed over ``path``, and
    the directory is ``fsync``-ed. On any exception (including ``KeyboardInterrupt``) the
    temporary file is deleted, ``path`` keeps its earlier content, and the exception propagates.

    Examples
    --------
    >>> with atomic_write("out.txt", "w") as f:   # doctest: +SKIP
    ...     f.write("hello")
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write writes whole files: mode must be 'wb' or 'w', got {mode!r}")
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(f"cannot write {path}: the directory {directory} does not exist")
    if path.is_dir():  # (else the rename fails naming the temporary file)
        raise IsADirectoryError(f"cannot write {path}: it is a directory; name a file (in it, or elsewhere)")
    _remove_stale_temps(directory, path.name)
    # the temporary name records its writer (host and process id), so that a later write can tell
    # the leftover of a writer killed with -9 from the file of a writer still at work
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{_WRITER_HOST}-{os.getpid()}.", suffix=".tmp", dir=directory)
    except OSError as e:  # the message names the path asked for, not the temporary file
        raise type(e)(f"cannot write {path}: {(e.strerror or str(e)).lower()} in {directory}") from None
    try:
        # mkstemp creates 0600; give the new file the old file's mode, or the usual 0644
        try:
            os.chmod(tmp, path.stat().st_mode & 0o7777 if path.exists() else 0o644)
        except OSError:
            pass
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            fd = -1  # now owned (and closed) by f
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(directory)


def atomic_write_bytes(path: str | os.PathLike, data: bytes | bytearray | memoryview) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path, "wb") as f:
        f.write(data)


# -- checksum --------------------------------------------------------------------------------------
def arrays_sha256(arrays: Mapping[str, np.ndarray]) -> str:
    """SHA-256 (hex) over names, dtypes, shapes and bytes of ``arrays``, in sorted name order."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.asarray(arrays[name])
        shape = ",".join(str(int(s)) for s in a.shape)
        h.update(f"{name}\0{a.dtype.str}\0{shape}\0".encode())
        c = np.ascontiguousarray(a)
        h.update(c.tobytes() if c.ndim == 0 else c)  # buffer protocol: no copy for big arrays
    return h.hexdigest()


def _json_default(obj: Any) -> Any:
    # NumPy scalars and small arrays sneak into headers (history values, class labels)
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (Path, os.PathLike)):
        return os.fspath(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(f"{type(obj).__name__} {obj!r:.60} is not JSON-serializable")


# -- writing ---------------------------------------------------------------------------------------
def save_npz_with_header(path: str | os.PathLike, arrays: Mapping[str, np.ndarray],
                         header: Mapping[str, Any]) -> dict[str, Any]:
    """Write ``arrays`` and a JSON ``header`` to one ``.npz`` file, atomically.

    Parameters
    ----------
    path : str or path
        Destination; written through a temporary file in the same directory.
    arrays : dict of str -> ndarray
        Names made of letters, digits, ``_ . -`` (not starting with ``.`` or ``-``); numeric,
        bool or fixed-width string arrays only (never object arrays).
    header : dict
        JSON-able metadata (NumPy scalars and arrays are converted). The keys ``format``,
        ``format_version``, ``arrays`` and ``sha256`` are added by the container.

    Returns
    -------
    dict
        The full header as written (with the container's keys).
    """
    clean: dict[str, np.ndarray] = {}
    for name, a in arrays.items():
        if not isinstance(name, str) or not _NAME.match(name) or name == HEADER_KEY:
            raise ValueError(f"array name {name!r} is not allowed: use letters, digits, '_', '.', '-'")
        a = np.asarray(a)
        if a.dtype.kind not in _SAFE_KINDS or a.dtype.hasobject:
            raise TypeError(f"array {name!r} has dtype {a.dtype}; model files hold numeric arrays only "
                            "(never object arrays, which would need pickle)")
        clean[name] = a
    clash = [k for k in RESERVED_KEYS if k in header]
    if clash:
        raise ValueError(f"header keys {clash} are reserved for the container")
    full = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        **dict(header),
        "arrays": {n: {"dtype": a.dtype.str, "shape": [int(s) for s in a.shape]} for n, a in sorted(clean.items())},
        "sha256": arrays_sha256(clean),
    }
    text = json.dumps(full, default=_json_default, sort_keys=False)
    encoded = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    with atomic_write(path, "wb") as f:
        np.savez(f, **{HEADER_KEY: encoded}, **clean)
    return json.loads(text)


# -- reading ---------------------------------------------------------------------------------------
def _sniff(head: bytes) -> str:
    """What a file that is not a readable zip looks like, for the error message."""
    if head.startswith(b"PK"):
        return "a damaged or truncated zip/npz archive"
    if head.startswith(b"\x93NUMPY"):
        return "a single .npy array, not an .npz model file"
    if head[:1] == b"\x80" or head[:1] in (b"(", b"]", b"}") and head[1:2] in (b"d", b"p", b"q", b"("):
        return "a Python pickle (deeplayers never unpickles files)"
    if head.startswith(b"\x89HDF"):
        return "an HDF5 file"
    if head.startswith(b"\x1f\x8b"):
        return "a gzip file"
    if not head:
        return "an empty file"
    return "not an npz (zip) archive"


@contextlib.contextmanager
def strict_npy_headers() -> Iterator[None]:
    """Read .npy headers with stray backslashes as damage: NumPy parses a header as a Python
    literal, and an invalid escape such as ``\\J`` there only warns (DeprecationWarning, or
    SyntaxWarning on newer Pythons) and reads on. Inside this block it raises ``SyntaxError``,
    which the readers report as a damaged file."""
    with warnings.catch_warnings():
        for category in (DeprecationWarning, SyntaxWarning):
            warnings.filterwarnings("error", message="invalid escape sequence", category=category)
        yield


class _Reader:
    """Checked reading of one container file; every failure is a ModelFileError."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path, self.max_bytes = path, int(max_bytes)

    def fail(self, what: str, todo: str = "re-save the model, or restore it from a backup") -> ModelFileError:
        return ModelFileError(f"{self.path}: {what}; {todo}")

    def member_header(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[tuple[int, ...], bool, np.dtype, int]:
        """(shape, fortran_order, dtype, header length) of a member's .npy header, data unread."""
        with zf.open(info) as fp, strict_npy_headers():
            try:
                version = npy_format.read_magic(fp)
                if version == (1, 0):
                    shape, fortran, dtype = npy_format.read_array_header_1_0(fp)
                elif version == (2, 0):
                    shape, fortran, dtype = npy_format.read_array_header_2_0(fp)
                else:
                    raise ValueError(f"unsupported .npy version {version}")
            except zipfile.BadZipFile as exc:  # e.g. "Bad CRC-32": small members are read whole
                raise self.fail(f"member {info.filename!r} is damaged ({exc})") from None
            except (ValueError, OSError, EOFError, SyntaxError, tokenize.TokenError) as exc:
                raise self.fail(f"member {info.filename!r} is not a valid .npy array ({exc})") from None
            return shape, fortran, dtype, fp.tell()

    def read_data(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, shape: tuple[int, ...], fortran: bool,
                  dtype: np.dtype, offset: int) -> np.ndarray:
        """The member's array: allocated once at its checked size, filled, CRC-checked."""
        arr = np.empty(shape, dtype, order="F" if fortran else "C")
        # a flat uint8 view in memory order (C or F, as the .npy stores it)
        flat = arr.reshape(-1, order="A").view(np.uint8) if arr.nbytes else np.empty(0, np.uint8)
        with zf.open(info) as fp:
            fp.read(offset)
            view, got = memoryview(flat), 0
            while got < arr.nbytes:
                n = fp.readinto(view[got:])
                if not n:
                    raise self.fail(f"member {info.filename!r} ends after {got} of {arr.nbytes} data bytes "
                                    "(truncated)")
                got += n
            if fp.read(1):  # reading to the end also makes zipfile check the member's CRC-32
                raise self.fail(f"member {info.filename!r} holds more bytes than its shape {shape} needs")
        return arr

    def load(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        path = self.path
        if not path.is_file():
            raise FileNotFoundError(f"no such model file: {path}")
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
        try:
            zf = zipfile.ZipFile(path, "r")
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError,
                KeyError, zlib.error, struct.error) as exc:  # e.g. "zip file version 25.5" from a flipped byte
            raise self.fail(f"cannot be read as a deeplayers model file: it is {_sniff(head)} ({exc})",
                            "check the path; if it is a model file it is damaged: re-save it or restore a backup"
                            ) from None
        with zf:
            try:
                return self._load(zf, size)
            except ModelFileError:
                raise
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError, NotImplementedError,
                    RuntimeError, zlib.error, struct.error) as exc:
                # e.g. "Bad CRC-32", a damaged deflate stream, an encrypted member
                raise self.fail(f"is damaged ({type(exc).__name__}: {exc})") from None

    def _load(self, zf: zipfile.ZipFile, size: int) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        infos = zf.infolist()
        members: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in infos:
            name = info.filename
            if not name.endswith(".npy") or not _NAME.match(name[:-4]) or name[:-4] in members:
                raise self.fail(f"holds an unexpected member {name!r} (a deeplayers file holds only "
                                "uniquely named .npy arrays)", "this is not a deeplayers model file")
            # sizes come from the zip directory: nothing is read or allocated yet
            if info.header_offset + info.compress_size > size:
                raise self.fail(f"member {name!r} runs past the end of the file ({size} bytes): the file is "
                                "truncated")
            if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
                raise self.fail(f"member {name!r} has inconsistent sizes in the zip directory")
            total += info.file_size
            members[name[:-4]] = info
        if total > self.max_bytes:
            raise self.fail(f"claims {total:,} bytes of arrays, more than the limit of {self.max_bytes:,}",
                            "pass a larger max_bytes if you really have such a model")
        if HEADER_KEY not in members:
            raise self.fail(f"is an .npz archive but has no deeplayers header (arrays: "
                            f"{', '.join(sorted(members)) or 'none'})",
                            "it was not written by deeplayers.save; load such arrays with numpy.load instead")
        header = self._header(zf, members.pop(HEADER_KEY))
        claimed = header["arrays"]
        if set(claimed) != set(members):
            missing, extra = sorted(set(claimed) - set(members)), sorted(set(members) - set(claimed))
            raise self.fail(f"the header and the arrays disagree (missing arrays: {missing or 'none'}; "
                            f"arrays not in the header: {extra or 'none'})")
        plan = []
        for name in sorted(members):
            info = members[name]
            dtype, shape = self._claim(name, claimed[name])
            fshape, fortran, fdtype, offset = self.member_header(zf, info)
            if fdtype.hasobject or fdtype.kind not in _SAFE_KINDS:
                raise self.fail(f"array {name!r} has dtype {fdtype} (an object/pickled array); deeplayers never "
                                "unpickles, so it refuses this file",
                                "do not load files from untrusted sources; re-save the model with deeplayers")
            if fdtype != dtype or tuple(fshape) != shape:
                raise self.fail(f"array {name!r} is {fdtype.str} {tuple(fshape)} but the header says "
                                f"{dtype.str} {shape}")
            nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            if offset + nbytes != info.file_size:
                raise self.fail(f"array {name!r} should take {nbytes:,} bytes but its member holds "
                                f"{info.file_size - offset:,}")
            plan.append((name, info, shape, fortran, dtype, offset))
        arrays = {name: self.read_data(zf, info, shape, fortran, dtype, offset)
                  for name, info, shape, fortran, dtype, offset in plan}
        digest = arrays_sha256(arrays)
        if digest != header["sha256"]:
            raise self.fail(f"checksum mismatch: the arrays hash to {digest[:16]}..., the header recorded "
                            f"{str(header['sha256'])[:16]}... (the file was damaged or edited)")
        return arrays, header

    def _header(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> dict[str, Any]:
        shape, fortran, dtype, offset = self.member_header(zf, info)
        if dtype != np.dtype(np.uint8) or len(shape) != 1:
            raise self.fail(f"the header member has dtype {dtype} and shape {shape}, expected a uint8 vector")
        if shape[0] > MAX_HEADER_BYTES or offset + shape[0] != info.file_size:
            raise self.fail(f"the header member claims {shape[0]:,} bytes (limit {MAX_HEADER_BYTES:,}; member "
                            f"holds {info.file_size - offset:,})")
        raw = self.read_data(zf, info, shape, fortran, dtype, offset).tobytes()
        try:
            header = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise self.fail(f"the header is not valid JSON ({exc})") from None
        if not isinstance(header, dict):
            raise self.fail(f"the header is a JSON {type(header).__name__}, not an object")
        if header.get("format") != FORMAT:
            raise self.fail(f"the header's format is {header.get('format')!r}, not {FORMAT!r}",
                            "this is not a deeplayers file")
        version = header.get("format_version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise self.fail(f"the header's format_version {version!r} is not a positive integer")
        if version > FORMAT_VERSION:
            raise self.fail(f"was written in file format version {version}, newer than this deeplayers "
                            f"{__version__} reads (up to {FORMAT_VERSION})", "upgrade deeplayers to load it")
        if not isinstance(header.get("arrays"), dict) or not isinstance(header.get("sha256"), str):
            raise self.fail("the header lacks the 'arrays' table or the 'sha256' checksum")
        return header

    def _claim(self, name: str, spec: Any) -> tuple[np.dtype, tuple[int, ...]]:
        """The header's (dtype, shape) for one array, checked for sanity before any allocation."""
        try:
            dtype = np.dtype(spec["dtype"])
            shape = tuple(spec["shape"])
        except (TypeError, KeyError, ValueError) as exc:
            raise self.fail(f"the header's entry for array {name!r} is malformed ({exc!r})") from None
        if dtype.hasobject or dtype.kind not in _SAFE_KINDS:
            raise self.fail(f"the header declares array {name!r} with dtype {dtype}; deeplayers never "
                            "unpickles object arrays, so it refuses this file",
                            "do not load files from untrusted sources")
        if any(not isinstance(s, int) or isinstance(s, bool) or s < 0 for s in shape) or len(shape) > 32:
            raise self.fail(f"the header declares array {name!r} with an invalid shape {list(shape)}")
        n = 1
        for s in shape:  # Python ints: no overflow, so absurd claims are seen as absurd
            n *= s
        if n * dtype.itemsize > self.max_bytes:
            raise self.fail(f"the header declares array {name!r} with an absurd shape {list(shape)} "
                            f"({n * dtype.itemsize:,} bytes, limit {self.max_bytes:,})")
        return dtype, shape


def load_npz_with_header(path: str | os.PathLike, *, max_bytes: int = MAX_BYTES
                         ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a file written by :func:`save_npz_with_header`, checking everything.

    Parameters
    ----------
    path : str or path
    max_bytes : int
        Largest total size of arrays accepted (default 8 GiB); checked from the zip directory and
        the header before anything is allocated.

    Returns
    -------
    arrays : dict of str -> ndarray
        Fresh, writable arrays.
    header : dict
        The JSON header, including ``format``, ``format_version``, ``arrays`` and ``sha256``.

    Raises
    ------
    ModelFileError
        Not a zip, truncated, damaged (CRC or SHA-256 mismatch), foreign (no header), holding object
        arrays, a header that is not JSON, of a newer format version, with absurd shapes, or with
        shapes that disagree with the arrays.
    FileNotFoundError
        ``path`` does not exist.
    """
    return _Reader(Path(path), max_bytes).load()
