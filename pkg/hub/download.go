package hub

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// copyBufferSize is the chunk between progress reports.
const copyBufferSize = 1 << 20

// fetch puts one file in the cache: its blob (downloaded unless present)
// and its snapshot link.
func (c *client) fetch(ctx context.Context, repo, commit, repoDir string, f repoFile) error {
	blob := filepath.Join(repoDir, "blobs", f.etag)
	target := filepath.Join(repoDir, "snapshots", commit, filepath.FromSlash(f.name))
	if !c.blobPresent(blob, f) {
		unlock, err := lockBlob(ctx, filepath.Join(c.cacheDir, ".locks", filepath.Base(repoDir), f.etag+".lock"))
		if err != nil {
			return err
		}
		// Another process may have finished the blob while we waited.
		if !c.blobPresent(blob, f) {
			err = c.download(ctx, repo, commit, blob, f)
		}
		unlock()
		if err != nil {
			return err
		}
	}
	return link(blob, target)
}

// blobPresent reports a complete blob (by size: hashing gigabytes on every
// run would cost more than it protects), and reports progress for it.
func (c *client) blobPresent(blob string, f repoFile) bool {
	info, err := os.Stat(blob)
	if err != nil || info.Size() != f.size {
		return false
	}
	c.report(f, f.size)
	return true
}

func (c *client) report(f repoFile, done int64) {
	if c.progress != nil {
		c.progress(Progress{File: f.name, Done: done, Total: f.size})
	}
}

// download fetches one blob into blob+".incomplete", resuming what an
// earlier run left there with a Range request, verifies its size and
// digest, and renames it into place.
func (c *client) download(ctx context.Context, repo, commit, blob string, f repoFile) error {
	if err := os.MkdirAll(filepath.Dir(blob), 0o755); err != nil {
		return err
	}
	partial := blob + ".incomplete"
	file, err := os.OpenFile(partial, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer file.Close()
	offset, err := file.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	if offset > f.size {
		offset = 0 // longer than the file can be: not ours to resume
	}
	u := c.fileURL(repo, commit, f.name)
	// Two attempts at most: the second starts from zero when the server
	// cannot resume (no Range support, or a range it rejects).
	for attempt := 0; ; attempt++ {
		err = c.transfer(ctx, u, repo, file, f, offset)
		var restart errRestart
		if errors.As(err, &restart) && attempt == 0 && offset > 0 {
			offset = 0
			continue
		}
		break
	}
	var httpErr *HTTPError
	if errors.As(err, &httpErr) {
		return err // it names the URL already
	}
	if err != nil {
		return fmt.Errorf("download %s: %w", u, err)
	}
	if err := file.Sync(); err != nil {
		return err
	}
	if err := file.Close(); err != nil {
		return err
	}
	return os.Rename(partial, blob)
}

// errRestart asks download to start the file over from byte 0.
type errRestart struct{ reason string }

func (e errRestart) Error() string { return e.reason }

// transfer writes the file from offset on (the bytes before it are already
// in file), then checks the size and digest of the whole.
func (c *client) transfer(ctx context.Context, u, repo string, file *os.File, f repoFile, offset int64) error {
	h := newDigest(f)
	if offset > 0 {
		// Hash the resumed part so the whole file is verified.
		if _, err := io.Copy(h, io.NewSectionReader(file, 0, offset)); err != nil {
			return err
		}
	}
	if offset < f.size || f.size == 0 {
		byteRange := ""
		if offset > 0 {
			byteRange = fmt.Sprintf("bytes=%d-", offset)
		}
		resp, err := c.get(ctx, u, byteRange)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusPartialContent && offset > 0:
			if start, ok := rangeStart(resp.Header.Get("Content-Range")); !ok || start != offset {
				return errRestart{fmt.Sprintf("server answered Range bytes=%d- with Content-Range %q", offset, resp.Header.Get("Content-Range"))}
			}
		case resp.StatusCode == http.StatusOK:
			if offset > 0 {
				return errRestart{"server ignored the Range request"}
			}
		case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
			return errRestart{"server rejected the Range request"}
		default:
			return c.httpError(resp, repo)
		}
		if err := file.Truncate(offset); err != nil {
			return err
		}
		if _, err := file.Seek(offset, io.SeekStart); err != nil {
			return err
		}
		w := &progressWriter{c: c, f: f, done: offset}
		// Read at most one byte past the expected size, so that a server
		// sending too much is caught without filling the disk.
		body := io.LimitReader(resp.Body, f.size-offset+1)
		if _, err := io.CopyBuffer(io.MultiWriter(file, h, w), body, make([]byte, copyBufferSize)); err != nil {
			return err
		}
		offset = w.done
	}
	if offset != f.size {
		if offset > f.size {
			_ = file.Truncate(0)
		}
		return fmt.Errorf("%s: got %d bytes, want %d", f.name, offset, f.size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != f.etag {
		// A corrupt partial file must not be resumed again.
		_ = file.Truncate(0)
		return fmt.Errorf("%s: checksum mismatch: got %s, want %s", f.name, got, f.etag)
	}
	return nil
}

// newDigest returns the hash whose hex digest names the blob: sha256 of the
// content for LFS files, the git blob id (sha1 of "blob <size>\0" + content)
// for the others.
func newDigest(f repoFile) hash.Hash {
	if f.lfs {
		return sha256.New()
	}
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", f.size)
	return h
}

// rangeStart parses the first byte of a Content-Range "bytes 100-199/200".
func rangeStart(contentRange string) (int64, bool) {
	rest, ok := strings.CutPrefix(contentRange, "bytes ")
	if !ok {
		return 0, false
	}
	start, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(start, 10, 64)
	return n, err == nil
}

// progressWriter counts bytes and reports them.
type progressWriter struct {
	c    *client
	f    repoFile
	done int64
}

func (w *progressWriter) Write(p []byte) (int, error) {
	w.done += int64(len(p))
	w.c.report(w.f, w.done)
	return len(p), nil
}
