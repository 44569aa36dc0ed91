package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strings"
)

// modelInfo is the part of GET /api/models/{repo}/revision/{rev}?blobs=true
// that a download needs.
type modelInfo struct {
	ID       string    `json:"id"`
	SHA      string    `json:"sha"`
	Siblings []sibling `json:"siblings"`
}

type sibling struct {
	RFilename string `json:"rfilename"`
	Size      int64  `json:"size"`
	BlobID    string `json:"blobId"`
	LFS       *struct {
		SHA256 string `json:"sha256"`
		Size   int64  `json:"size"`
	} `json:"lfs"`
}

// repoFile is one file to download.
type repoFile struct {
	name string // path within the repository, '/'-separated
	etag string // sha256 (LFS) or git blob sha1: the blob's name in the cache
	size int64
	lfs  bool
}

var (
	commitHash = regexp.MustCompile(`^[0-9a-f]{40}$`)
	sha256Hex  = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// maxInfoSize bounds the model-info JSON (repositories list their files).
const maxInfoSize = 32 << 20

// modelInfo fetches the commit and file list of repo at revision.
func (c *client) modelInfo(ctx context.Context, repo, revision string) (*modelInfo, error) {
	u := fmt.Sprintf("%s/api/models/%s/revision/%s?blobs=true", c.endpoint, repo, url.PathEscape(revision))
	resp, err := c.get(ctx, u, "")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, c.httpError(resp, repo)
	}
	var info modelInfo
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxInfoSize)).Decode(&info); err != nil {
		return nil, fmt.Errorf("%s: reading the model info of %s: %w", u, repo, err)
	}
	if !commitHash.MatchString(info.SHA) {
		return nil, fmt.Errorf("%s: the hub returned no valid commit hash for %s@%s (got %q)", u, repo, revision, info.SHA)
	}
	return &info, nil
}

// files returns the selected files of info, checked so that a hostile or
// broken listing cannot write outside the cache or under a bogus blob name.
func (c *client) files(info *modelInfo, repo string) ([]repoFile, error) {
	var out []repoFile
	for _, s := range info.Siblings {
		if !c.include(s.RFilename) {
			continue
		}
		if !safeRepoPath(s.RFilename) {
			return nil, fmt.Errorf("%s: the hub listed an unsafe file name %q", repo, s.RFilename)
		}
		f := repoFile{name: s.RFilename, etag: s.BlobID, size: s.Size}
		if s.LFS != nil {
			f.etag, f.size, f.lfs = s.LFS.SHA256, s.LFS.Size, true
		}
		switch {
		case f.lfs && !sha256Hex.MatchString(f.etag):
			return nil, fmt.Errorf("%s: %s: the hub listed no valid sha256 (got %q)", repo, f.name, f.etag)
		case !f.lfs && !commitHash.MatchString(f.etag):
			return nil, fmt.Errorf("%s: %s: the hub listed no valid blob id (got %q)", repo, f.name, f.etag)
		case f.size < 0:
			return nil, fmt.Errorf("%s: %s: negative size %d", repo, f.name, f.size)
		}
		out = append(out, f)
	}
	return out, nil
}

// safeRepoPath accepts relative, clean, '/'-separated paths without "..".
func safeRepoPath(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "\\") || strings.ContainsRune(p, 0) {
		return false
	}
	if path.Clean(p) != p {
		return false
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." || part == "." || part == "" {
			return false
		}
	}
	return true
}

// fileURL is the resolve URL of one file at a commit.
func (c *client) fileURL(repo, commit, name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return fmt.Sprintf("%s/%s/resolve/%s/%s", c.endpoint, repo, commit, strings.Join(parts, "/"))
}

// get sends an authenticated GET. The client drops the Authorization header
// on redirects to other hosts (the CDN), as huggingface_hub does.
func (c *client) get(ctx context.Context, u, byteRange string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "gemma3n-therapy-hub/1 (Go)")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	// A transparently decompressed body would make sizes and byte offsets
	// meaningless.
	req.Header.Set("Accept-Encoding", "identity")
	if byteRange != "" {
		req.Header.Set("Range", byteRange)
	}
	return c.http.Do(req)
}
