package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/atomicfile"
)

// RepoCacheDir is the directory of repo in a hub cache:
// models--{org}--{name}.
func RepoCacheDir(cacheDir, repo string) string {
	return filepath.Join(cacheDir, "models--"+strings.ReplaceAll(repo, "/", "--"))
}

// snapshot makes sure the selected files of repo at revision are in the
// cache and returns the snapshot directory.
func (c *client) snapshot(ctx context.Context, repo, revision string) (string, error) {
	if c.offline {
		dir, err := c.cached(repo, revision)
		if err != nil {
			return "", fmt.Errorf("offline mode (HF_HUB_OFFLINE): %w; run once with network access or unset HF_HUB_OFFLINE", err)
		}
		return dir, nil
	}
	info, err := c.modelInfo(ctx, repo, revision)
	if err != nil {
		if unreachable(ctx, err) {
			// As huggingface_hub does: without the hub, a cached copy still serves.
			if dir, cacheErr := c.cached(repo, revision); cacheErr == nil {
				return dir, nil
			}
			return "", fmt.Errorf("cannot reach the Hugging Face hub at %s and %s@%s is not in the cache at %s: %w", c.endpoint, repo, revision, c.cacheDir, err)
		}
		return "", err
	}
	files, err := c.files(info, repo)
	if err != nil {
		return "", err
	}
	if !hasFile(files, "config.json") {
		return "", fmt.Errorf("%s@%s has no config.json: not a Transformers model repository", repo, revision)
	}
	repoDir := RepoCacheDir(c.cacheDir, repo)
	snapDir := filepath.Join(repoDir, "snapshots", info.SHA)
	for _, f := range files {
		if err := c.fetch(ctx, repo, info.SHA, repoDir, f); err != nil {
			return "", err
		}
	}
	if revision != info.SHA {
		if err := writeRef(repoDir, revision, info.SHA); err != nil {
			return "", err
		}
	}
	if err := checkSnapshot(snapDir); err != nil {
		return "", err
	}
	return snapDir, nil
}

func hasFile(files []repoFile, name string) bool {
	for _, f := range files {
		if f.name == name {
			return true
		}
	}
	return false
}

// unreachable reports a network failure (no HTTP answer at all), as opposed
// to an answer the hub gave or a cancelled context.
func unreachable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var httpErr *HTTPError
	if errors.As(err, &httpErr) {
		return false
	}
	var netErr net.Error
	var opErr *net.OpError
	var dnsErr *net.DNSError
	return errors.As(err, &netErr) || errors.As(err, &opErr) || errors.As(err, &dnsErr)
}

// cached returns the snapshot directory of repo at revision (a branch or tag
// resolved through refs/, or a commit hash) if it is complete in the cache.
func (c *client) cached(repo, revision string) (string, error) {
	repoDir := RepoCacheDir(c.cacheDir, repo)
	commit := revision
	if !commitHash.MatchString(revision) {
		data, err := os.ReadFile(filepath.Join(repoDir, "refs", filepath.FromSlash(revision)))
		if err != nil {
			return "", fmt.Errorf("%s@%s is not in the cache at %s: %w", repo, revision, c.cacheDir, ErrNotCached)
		}
		commit = strings.TrimSpace(string(data))
		if !commitHash.MatchString(commit) {
			return "", fmt.Errorf("%s: not a commit hash: %q", filepath.Join(repoDir, "refs", revision), commit)
		}
	}
	dir := filepath.Join(repoDir, "snapshots", commit)
	if err := checkSnapshot(dir); err != nil {
		return "", fmt.Errorf("%s@%s: %w", repo, revision, err)
	}
	return dir, nil
}

// checkSnapshot verifies that dir holds a loadable model: config.json and
// either every shard its safetensors index names or at least one
// safetensors file.
func checkSnapshot(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
		return fmt.Errorf("snapshot %s lacks config.json: %w", dir, ErrNotCached)
	}
	indexPath := filepath.Join(dir, "model.safetensors.index.json")
	data, err := os.ReadFile(indexPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		matches, _ := filepath.Glob(filepath.Join(dir, "*.safetensors"))
		for _, m := range matches {
			if _, err := os.Stat(m); err == nil { // follows the symlink
				return nil
			}
		}
		return fmt.Errorf("snapshot %s has no *.safetensors weights: %w", dir, ErrNotCached)
	case err != nil:
		return err
	}
	var index struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(data, &index); err != nil {
		return fmt.Errorf("%s: %w", indexPath, err)
	}
	for _, shard := range index.WeightMap {
		if !safeRepoPath(shard) {
			return fmt.Errorf("%s: unsafe shard name %q", indexPath, shard)
		}
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(shard))); err != nil {
			return fmt.Errorf("snapshot %s lacks the shard %s named by its index: %w", dir, shard, ErrNotCached)
		}
	}
	return nil
}

// writeRef records that revision resolved to commit (refs/{revision},
// the bare hash without newline, as huggingface_hub writes it).
func writeRef(repoDir, revision, commit string) error {
	path := filepath.Join(repoDir, "refs", filepath.FromSlash(revision))
	if old, err := os.ReadFile(path); err == nil && string(old) == commit {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, []byte(commit))
}

// link points snapshots/{commit}/{name} at its blob with a relative symlink,
// replacing whatever was there atomically. Where symlinks are not possible
// the blob is copied.
func link(blob, target string) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	rel, err := filepath.Rel(filepath.Dir(target), blob)
	if err != nil {
		return err
	}
	if cur, err := os.Readlink(target); err == nil && cur == rel {
		return nil
	}
	tmp := target + ".tmp-link"
	_ = os.Remove(tmp)
	if err := os.Symlink(rel, tmp); err != nil {
		return atomicfile.CopyFile(blob, target) // readable, 0644, like the blobs
	}
	if err := os.Rename(tmp, target); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}
