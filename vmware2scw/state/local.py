"""The local state backend: one JSON file, written atomically, one backup, a lock file.

Write: temp file (mode 0600) in the same folder, fsync, the old file hard-linked
to ``<file>.backup``, rename over the file, fsync the folder. Lock: ``<file>.lock``
holds the LockInfo and is held with ``flock``; a run killed with SIGKILL leaves
the record but not the kernel lock, so the next run takes over without
``force-unlock`` (the record of a live holder is always honoured).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from vmware2scw.errors import StateError
from vmware2scw.state import codec
from vmware2scw.state.lock import LockInfo, locked_error, wrong_id_error
from vmware2scw.state.model import State


class LocalBackend:
    """A state file on the local disk."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.backup_path = self.path.with_name(self.path.name + ".backup")
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self._encoder = codec.Encoder()
        self._mu = threading.Lock()
        self._lock_fd: int | None = None
        self._lock_id: str | None = None

    def describe(self) -> str:
        return str(self.path)

    # --- state ---------------------------------------------------------------------------

    def _read_file(self, path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError(f"{path}: cannot read the state: {exc.strerror}") from None

    def read(self) -> State | None:
        data = self._read_file(self.path)
        if data is None:
            return None
        backup = str(self.backup_path) if self.backup_path.exists() else None
        return codec.loads(data, str(self.path), backup=backup)

    def read_backup(self) -> State | None:
        data = self._read_file(self.backup_path)
        return None if data is None else codec.loads(data, str(self.backup_path))

    def write(self, state: State) -> None:
        self.write_bytes(self._encoder.dumps(state))

    def write_bytes(self, data: bytes) -> None:
        with self._mu:
            try:
                self._write(data)
            except OSError as exc:
                raise StateError(
                    f"{self.path}: cannot write the state: {exc.strerror or exc}",
                    hint="check the folder exists, is writable and the disk is not full",
                ) from None

    def _write(self, data: bytes) -> None:
        folder = self.path.parent
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = folder / f".{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            try:
                os.fchmod(fd, 0o600)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            self._keep_backup()
            tmp.replace(self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        dfd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)

    def _keep_backup(self) -> None:
        """Make the current file the backup: a hard link (no copy), a copy where links fail."""
        if not self.path.exists():
            return
        link = self.backup_path.with_name(f".{self.backup_path.name}.{os.getpid()}.tmp")
        link.unlink(missing_ok=True)
        try:
            os.link(self.path, link)
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EXDEV, errno.EMLINK, errno.ENOTSUP):
                raise
            fd = os.open(link, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(self.path.read_bytes())
        link.chmod(0o600)
        link.replace(self.backup_path)

    def _remove_orphans(self) -> None:
        """Delete temporary files left by writers that died (their pid no longer runs)."""
        for name in (self.path.name, self.backup_path.name):
            for tmp in self.path.parent.glob(f".{name}.*.tmp"):
                pid = tmp.name[len(name) + 2 :].split(".", 1)[0]
                if not pid.isdigit() or int(pid) == os.getpid():
                    continue
                try:
                    os.kill(int(pid), 0)
                except ProcessLookupError:
                    tmp.unlink(missing_ok=True)
                except PermissionError:
                    pass  # alive, under another user

    # --- lock ----------------------------------------------------------------------------

    def _holder(self) -> LockInfo | None:
        data = self._read_file(self.lock_path)
        return None if not data else LockInfo.from_bytes(data)

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """Serialise lock attempts and record reads (a short flock on the state's folder).

        A loser reads the holder's record inside the guard, so it never sees the
        record half-written or the stale one the winner is about to replace.
        """
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        dfd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(dfd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(dfd)

    def lock(self, info: LockInfo) -> str:
        with self._guard():
            for _ in range(20):  # retried only when the lock file is replaced under us
                fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    raise locked_error(str(self.path), self._holder()) from None
                try:
                    same = os.fstat(fd).st_ino == self.lock_path.stat().st_ino
                except FileNotFoundError:
                    same = False
                if not same:  # unlinked by its holder's unlock or a force-unlock: try again
                    os.close(fd)
                    continue
                os.ftruncate(fd, 0)
                os.pwrite(fd, info.to_bytes(), 0)
                os.fsync(fd)
                self._lock_fd, self._lock_id = fd, info.id
                self._remove_orphans()
                return info.id
        raise StateError(f"{self.lock_path}: the lock file keeps changing; try again")

    def current_lock(self) -> LockInfo | None:
        """The recorded holder while a live process holds the lock (stale records: None)."""
        if self._lock_fd is not None:
            return self._holder()
        with self._guard():
            return self._live_holder()

    def _live_holder(self) -> LockInfo | None:
        """The record if a live process holds the lock file (call inside the guard)."""
        try:
            fd = os.open(self.lock_path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return self._holder()
        finally:
            os.close(fd)
        return None

    def unlock(self, lock_id: str) -> None:
        if self._lock_fd is None or self._lock_id != lock_id:
            raise wrong_id_error(str(self.path), lock_id, self.current_lock())
        fd, self._lock_fd, self._lock_id = self._lock_fd, None, None
        with contextlib.suppress(FileNotFoundError):
            if os.fstat(fd).st_ino == self.lock_path.stat().st_ino:
                self.lock_path.unlink()
        os.close(fd)

    def force_unlock(self, lock_id: str) -> None:
        if self._lock_id == lock_id:
            self.unlock(lock_id)
            return
        with self._guard():
            holder = self._holder()
            if holder is None or holder.id != lock_id:
                raise wrong_id_error(str(self.path), lock_id, self._live_holder())
            self.lock_path.unlink(missing_ok=True)
