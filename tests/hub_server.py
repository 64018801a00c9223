"""A small server that speaks the parts of the Hugging Face Hub HTTP protocol huggingface_hub uses.

Tested with huggingface-hub 2.4.0 (pinned in requirements.txt) and ``HF_HUB_DISABLE_XET=1``:
``create_repo``, ``preupload``, the LFS batch -> PUT -> verify exchange, the NDJSON ``commit``,
``resolve`` downloads (HEAD and GET, with ``X-Repo-Commit`` / ``ETag`` / ``X-Linked-*`` headers),
``model_info``, the ``tree`` listing, ``refs``, branch creation, ``validate-yaml`` and ``whoami``.
Revisions are branch names or full commit shas. State lives in memory.

    python -m tests.hub_server --port 8765 --seed demo/fer=fer_space/embedded/fer_ensemble

then point a client at it with ``HF_ENDPOINT=http://127.0.0.1:8765 HF_HUB_DISABLE_XET=1``.
``fail_next(n, status)`` makes the next ``n`` write requests fail, to test error paths.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

LFS_SUFFIXES = (".safetensors", ".bin", ".pt", ".onnx", ".png", ".jpg", ".jpeg", ".gz", ".zip", ".npz")


def git_blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Blob:
    data: bytes
    lfs: bool

    @property
    def etag(self) -> str:
        return hashlib.sha256(self.data).hexdigest() if self.lfs else git_blob_sha(self.data)


@dataclass
class Commit:
    sha: str
    parent: str | None
    message: str
    files: dict[str, Blob]


@dataclass
class Repo:
    repo_id: str
    private: bool
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)

    def resolve(self, revision: str) -> Commit | None:
        sha = self.branches.get(revision, revision)
        return self.commits.get(sha)


class HubState:
    """Repos, LFS objects and failure injection, shared by the request handlers."""

    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.lfs: dict[str, bytes] = {}
        self.lock = threading.Lock()
        self.failures: list[int] = []
        self.requests: list[tuple[str, str]] = []

    def create_repo(self, repo_id: str, private: bool = False) -> Repo:
        repo = Repo(repo_id, private)
        root = Commit(hashlib.sha1(f"init {repo_id} {time.time()}".encode()).hexdigest(), None, "initial commit",
                      {".gitattributes": Blob(b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n", False)})
        repo.commits[root.sha] = root
        repo.branches["main"] = root.sha
        self.repos[repo_id] = repo
        return repo

    def commit(self, repo: Repo, branch: str, message: str, files: dict[str, Blob], deleted: list[str]) -> Commit:
        parent = repo.resolve(branch)
        tree = dict(parent.files) if parent else {}
        for path in deleted:
            tree.pop(path, None)
            for key in [k for k in tree if k.startswith(path.rstrip("/") + "/")]:
                tree.pop(key)
        tree.update(files)
        sha = hashlib.sha1(f"{parent.sha if parent else ''}{message}{time.time_ns()}".encode()).hexdigest()
        commit = Commit(sha, parent.sha if parent else None, message, tree)
        repo.commits[sha] = commit
        repo.branches[branch] = sha
        return commit

    def seed_folder(self, repo_id: str, folder: str | Path) -> Commit:
        """Create ``repo_id`` holding the files of a local folder (for download tests and demos)."""
        repo = self.repos.get(repo_id) or self.create_repo(repo_id)
        files = {p.relative_to(folder).as_posix(): Blob(p.read_bytes(), p.suffix in LFS_SUFFIXES)
                 for p in sorted(Path(folder).rglob("*")) if p.is_file()}
        return self.commit(repo, "main", f"seed from {folder}", files, [])


class Handler(BaseHTTPRequestHandler):
    server_version = "LocalHub/1.0"
    protocol_version = "HTTP/1.1"
    state: HubState  # set on the subclass made by HubServer

    def log_message(self, *args) -> None:  # quiet
        pass

    # ---- helpers ---------------------------------------------------------------------------
    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send(self, status: int, payload=None, headers: dict | None = None, raw: bytes | None = None,
             head: bool = False) -> None:
        data = raw if raw is not None else (b"" if payload is None else json.dumps(payload).encode())
        self.send_response(status)
        if raw is None:
            self.send_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def error(self, status: int, code: str, message: str, head: bool = False) -> None:
        self.send(status, {"error": message}, {"X-Error-Code": code, "X-Error-Message": message}, head=head)

    def injected_failure(self) -> bool:
        with self.state.lock:
            if self.state.failures:
                status = self.state.failures.pop(0)
                self.body()
                self.error(status, "InjectedFailure", f"injected failure {status}")
                return True
        return False

    def repo_or_404(self, repo_id: str, head: bool = False) -> Repo | None:
        repo = self.state.repos.get(repo_id)
        if repo is None:
            self.error(404, "RepoNotFound", f"Repository not found: {repo_id}", head=head)
        return repo

    def commit_or_404(self, repo: Repo, revision: str, head: bool = False) -> Commit | None:
        commit = repo.resolve(unquote(revision))
        if commit is None:
            self.error(404, "RevisionNotFound", f"Invalid rev id: {revision}", head=head)
        return commit

    # ---- routing ---------------------------------------------------------------------------
    def do_HEAD(self) -> None:
        self.route("HEAD")

    def do_GET(self) -> None:
        self.route("GET")

    def do_POST(self) -> None:
        self.route("POST")

    def do_PUT(self) -> None:
        self.route("PUT")

    def route(self, method: str) -> None:
        url = urlparse(self.path)
        path = url.path
        self.state.requests.append((method, path))
        routes = [
            ("POST", r"/api/repos/create", self.create_repo),
            ("GET", r"/api/whoami-v2", self.whoami),
            ("POST", r"/api/validate-yaml", self.validate_yaml),
            ("POST", r"/api/models/(?P<repo>[^/]+/[^/]+)/preupload/(?P<rev>[^/]+)", self.preupload),
            ("POST", r"/api/models/(?P<repo>[^/]+/[^/]+)/commit/(?P<rev>[^/]+)", self.commit),
            ("POST", r"/api/models/(?P<repo>[^/]+/[^/]+)/branch/(?P<rev>[^/]+)", self.create_branch),
            ("GET", r"/api/models/(?P<repo>[^/]+/[^/]+)/refs", self.refs),
            ("GET", r"/api/models/(?P<repo>[^/]+/[^/]+)/tree/(?P<rev>[^/]+)(?P<sub>/.*)?", self.tree),
            ("GET", r"/api/models/(?P<repo>[^/]+/[^/]+)/revision/(?P<rev>[^/]+)", self.model_info),
            ("GET", r"/api/models/(?P<repo>[^/]+/[^/]+)", self.model_info),
            ("POST", r"/(?P<repo>[^/]+/[^/]+)\.git/info/lfs/objects/batch", self.lfs_batch),
            ("PUT", r"/lfs-upload/(?P<oid>[0-9a-f]{64})", self.lfs_upload),
            ("POST", r"/lfs-verify", self.lfs_verify),
            ("GET", r"/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<file>.+)", self.resolve),
            ("HEAD", r"/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<file>.+)", self.resolve),
        ]
        for verb, pattern, handler in routes:
            match = re.fullmatch(pattern, path)
            if verb == method and match:
                if method in ("POST", "PUT") and self.injected_failure():
                    return
                try:
                    handler(head=method == "HEAD", query=parse_qs(url.query), **match.groupdict())
                except Exception as exc:  # report, keep serving
                    self.error(500, "ServerError", f"{type(exc).__name__}: {exc}")
                return
        self.error(404, "NotFound", f"no route for {method} {path}", head=method == "HEAD")

    # ---- endpoints -------------------------------------------------------------------------
    def whoami(self, **_) -> None:
        self.send(200, {"type": "user", "name": "local", "fullname": "Local Hub user", "orgs": [],
                        "auth": {"accessToken": {"displayName": "local", "role": "write"}}})

    def validate_yaml(self, **_) -> None:
        self.body()
        self.send(200, {"errors": [], "warnings": []})

    def create_repo(self, **_) -> None:
        req = json.loads(self.body() or b"{}")
        repo_id = f"{req['organization']}/{req['name']}" if req.get("organization") else req["name"]
        if "/" not in repo_id:
            repo_id = f"local/{repo_id}"
        with self.state.lock:
            if repo_id in self.state.repos:
                return self.send(409, {"error": "You already created this model repo", "url": f"{self.base}/{repo_id}"},
                                 {"X-Error-Message": "You already created this model repo"})
            self.state.create_repo(repo_id, bool(req.get("private")))
        self.send(200, {"url": f"{self.base}/{repo_id}", "name": repo_id, "id": repo_id})

    def preupload(self, repo: str, rev: str, **_) -> None:
        req = json.loads(self.body())
        repo_obj = self.repo_or_404(repo)
        if repo_obj is None:
            return
        files = [{"path": f["path"], "uploadMode": "lfs" if f["path"].endswith(LFS_SUFFIXES) or f["size"] > 1_000_000
                  else "regular", "shouldIgnore": False} for f in req["files"]]
        self.send(200, {"files": files, "commitOid": repo_obj.branches.get(unquote(rev))})

    def lfs_batch(self, repo: str, **_) -> None:
        req = json.loads(self.body())
        if self.repo_or_404(repo) is None:
            return
        objects = []
        for obj in req["objects"]:
            entry = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
            if obj["oid"] not in self.state.lfs:
                entry["actions"] = {
                    "upload": {"href": f"{self.base}/lfs-upload/{obj['oid']}", "header": {}},
                    "verify": {"href": f"{self.base}/lfs-verify", "header": {}},
                }
            objects.append(entry)
        self.send(200, {"transfer": "basic", "objects": objects, "hash_algo": "sha256"},
                  {"Content-Type": "application/vnd.git-lfs+json"})

    def lfs_upload(self, oid: str, **_) -> None:
        data = self.body()
        if hashlib.sha256(data).hexdigest() != oid:
            return self.error(400, "BadOid", "uploaded content does not match its sha256")
        self.state.lfs[oid] = data
        self.send(200, {})

    def lfs_verify(self, **_) -> None:
        req = json.loads(self.body())
        data = self.state.lfs.get(req["oid"])
        if data is None or len(data) != req["size"]:
            return self.error(404, "LfsObjectNotFound", f"object {req['oid']} not uploaded")
        self.send(200, {"message": "verified"})

    def commit(self, repo: str, rev: str, **_) -> None:
        lines = [json.loads(line) for line in self.body().splitlines() if line.strip()]
        repo_obj = self.repo_or_404(repo)
        if repo_obj is None:
            return
        branch = unquote(rev)
        if branch not in repo_obj.branches:
            return self.error(404, "RevisionNotFound", f"Invalid rev id: {branch}")
        header = next(item["value"] for item in lines if item["key"] == "header")
        parent = header.get("parentCommit")
        if parent and parent != repo_obj.branches[branch]:
            return self.error(412, "PreconditionFailed", "A commit has happened since. Please refresh and try again.")
        files, deleted = {}, []
        for item in lines:
            value = item["value"]
            if item["key"] == "file":
                files[value["path"]] = Blob(base64.b64decode(value["content"]), False)
            elif item["key"] == "lfsFile":
                if value["oid"] not in self.state.lfs:
                    return self.error(422, "LfsObjectMissing", f"LFS object {value['oid']} was never uploaded")
                files[value["path"]] = Blob(self.state.lfs[value["oid"]], True)
            elif item["key"] in ("deletedFile", "deletedFolder"):
                deleted.append(value["path"])
        with self.state.lock:
            commit = self.state.commit(repo_obj, branch, header.get("summary", ""), files, deleted)
        self.send(200, {"commitUrl": f"{self.base}/{repo}/commit/{commit.sha}", "commitOid": commit.sha,
                        "success": True, "pullRequestUrl": None})

    def create_branch(self, repo: str, rev: str, **_) -> None:
        req = json.loads(self.body() or b"{}")
        repo_obj = self.repo_or_404(repo)
        if repo_obj is None:
            return
        branch = unquote(rev)
        if branch in repo_obj.branches:
            return self.error(409, "Conflict", f"Reference already exists: {branch}")
        start = repo_obj.resolve(req.get("startingPoint") or "main")
        repo_obj.branches[branch] = start.sha
        self.send(200, {})

    def refs(self, repo: str, **_) -> None:
        repo_obj = self.repo_or_404(repo)
        if repo_obj is not None:
            branches = [{"name": b, "ref": f"refs/heads/{b}", "targetCommit": sha}
                        for b, sha in repo_obj.branches.items()]
            self.send(200, {"branches": branches, "tags": [], "converts": []})

    def model_info(self, repo: str, rev: str = "main", **_) -> None:
        repo_obj = self.repo_or_404(repo)
        commit = repo_obj and self.commit_or_404(repo_obj, rev)
        if commit is None:
            return
        self.send(200, {
            "_id": repo, "id": repo, "modelId": repo, "author": repo.split("/")[0], "sha": commit.sha,
            "private": repo_obj.private, "disabled": False, "gated": False, "downloads": 0, "likes": 0, "tags": [],
            "library_name": "fer_space", "lastModified": "2026-01-01T00:00:00.000Z",
            "createdAt": "2026-01-01T00:00:00.000Z",
            "siblings": [{"rfilename": p} for p in sorted(commit.files)],
        })

    def tree(self, repo: str, rev: str, sub: str | None = None, query=None, **_) -> None:
        repo_obj = self.repo_or_404(repo)
        commit = repo_obj and self.commit_or_404(repo_obj, rev)
        if commit is None:
            return
        prefix = (sub or "").strip("/")
        recursive = (query or {}).get("recursive", ["false"])[0].lower() == "true"
        entries, folders = [], set()
        for path, blob in sorted(commit.files.items()):
            if prefix and not path.startswith(prefix + "/"):
                continue
            rest = path[len(prefix) + 1:] if prefix else path
            if "/" in rest and not recursive:
                folders.add((prefix + "/" if prefix else "") + rest.split("/")[0])
                continue
            entry = {"type": "file", "oid": git_blob_sha(blob.data), "size": len(blob.data), "path": path}
            if blob.lfs:
                entry["lfs"] = {"oid": blob.etag, "size": len(blob.data), "pointerSize": 134}
            entries.append(entry)
        entries += [{"type": "directory", "oid": "0" * 40, "size": 0, "path": f} for f in sorted(folders)]
        self.send(200, entries)

    def resolve(self, repo: str, rev: str, file: str, head: bool = False, **_) -> None:
        repo_obj = self.repo_or_404(repo, head)
        commit = repo_obj and self.commit_or_404(repo_obj, rev, head)
        if commit is None:
            return
        blob = commit.files.get(unquote(file))
        if blob is None:
            return self.error(404, "EntryNotFound", f"{file} does not exist at {rev}", head=head)
        headers = {"X-Repo-Commit": commit.sha, "ETag": f'"{blob.etag}"', "Content-Type": "application/octet-stream"}
        if blob.lfs:
            headers.update({"X-Linked-Etag": f'"{blob.etag}"', "X-Linked-Size": str(len(blob.data))})
        self.send(200, headers=headers, raw=blob.data, head=head)


class HubServer:
    """A local Hub on ``127.0.0.1``; ``url`` is what ``HF_ENDPOINT`` should be."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = HubState()
        handler = type("BoundHandler", (Handler,), {"state": self.state})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> HubServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def fail_next(self, n: int = 1, status: int = 500) -> None:
        """The next ``n`` POST/PUT requests answer ``status``."""
        with self.state.lock:
            self.state.failures.extend([status] * n)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--seed", action="append", default=[], metavar="REPO_ID=FOLDER",
                   help="create REPO_ID from the files of FOLDER (repeatable)")
    args = p.parse_args()
    server = HubServer(args.host, args.port)
    for item in args.seed:
        repo_id, folder = item.split("=", 1)
        server.state.seed_folder(repo_id, folder)
    print(f"local Hub serving at {server.url}", flush=True)
    server.httpd.serve_forever()


if __name__ == "__main__":
    main()
