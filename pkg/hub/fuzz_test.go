package hub

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseRepoID: whatever ParseRepoID accepts maps to a cache directory
// and a refs path inside the cache.
func FuzzParseRepoID(f *testing.F) {
	for _, s := range []string{"google/gemma-3n-E2B-it", "org/m@main", "org/m@refs/pr/1", "a/b/c", "../x/y", "x/..@..", "org/m@/etc/passwd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		repo, rev, ok := ParseRepoID(s)
		if !ok {
			return
		}
		cache := "/cache"
		dir := RepoCacheDir(cache, repo)
		if filepath.Dir(dir) != cache || strings.Count(repo, "/") != 1 {
			t.Fatalf("%q: repo %q escapes the cache (%s)", s, repo, dir)
		}
		if rev != "" {
			ref := filepath.Join(dir, "refs", filepath.FromSlash(rev))
			if !strings.HasPrefix(ref, filepath.Join(dir, "refs")+string(filepath.Separator)) {
				t.Fatalf("%q: revision %q escapes refs/ (%s)", s, rev, ref)
			}
		}
	})
}

// FuzzModelInfo: a hostile file listing never makes a file path outside the
// snapshot or a blob name that is not a hex digest.
func FuzzModelInfo(f *testing.F) {
	f.Add(`{"sha":"0123456789abcdef0123456789abcdef01234567","siblings":[{"rfilename":"config.json","size":2,"blobId":"0123456789abcdef0123456789abcdef01234567"}]}`)
	f.Add(`{"siblings":[{"rfilename":"../../x","lfs":{"sha256":"../../../etc","size":-1}}]}`)
	f.Add(`{"siblings":[{"rfilename":"a//b","blobId":"x"},{"rfilename":"/abs"}]}`)
	f.Fuzz(func(t *testing.T, data string) {
		var info modelInfo
		if json.Unmarshal([]byte(data), &info) != nil {
			return
		}
		c := &client{include: func(string) bool { return true }}
		files, err := c.files(&info, "org/m")
		if err != nil {
			return
		}
		snap := "/cache/snapshots/c"
		for _, fl := range files {
			p := filepath.Join(snap, filepath.FromSlash(fl.name))
			if !strings.HasPrefix(p, snap+"/") {
				t.Fatalf("file %q lands outside the snapshot: %s", fl.name, p)
			}
			if strings.ContainsAny(fl.etag, "/\\.") || fl.etag == "" || fl.size < 0 {
				t.Fatalf("bad blob name %q or size %d accepted", fl.etag, fl.size)
			}
		}
	})
}

func FuzzRangeStart(f *testing.F) {
	f.Add("bytes 100-199/200")
	f.Add("bytes */200")
	f.Fuzz(func(t *testing.T, s string) {
		if n, ok := rangeStart(s); ok && !strings.HasPrefix(s, "bytes ") {
			t.Fatalf("%q parsed as %d", s, n)
		}
	})
}
