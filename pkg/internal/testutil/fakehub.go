package testutil

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// FakeHubCommit is the commit FakeHub serves its repository at.
const FakeHubCommit = "0123456789abcdef0123456789abcdef01234567"

// FakeHub serves the regular files of dir as the Hugging Face repository
// repo ("org/name") on a local httptest server, through the two endpoints
// hub.Resolve uses (the model info at a revision, and the files at a
// commit), and returns the server's URL for hub.Options.Endpoint. Every
// file is served as a plain git blob (no LFS); requests for other
// repositories get 404. Nothing leaves the machine.
func FakeHub(tb testing.TB, repo, dir string) string {
	tb.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		files[e.Name()] = b
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rest, ok := strings.CutPrefix(r.URL.Path, "/api/models/"+repo+"/revision/"); ok && rest != "" {
			type sibling struct {
				RFilename string `json:"rfilename"`
				Size      int    `json:"size"`
				BlobID    string `json:"blobId"`
			}
			info := struct {
				ID       string    `json:"id"`
				SHA      string    `json:"sha"`
				Siblings []sibling `json:"siblings"`
			}{ID: repo, SHA: FakeHubCommit}
			names := make([]string, 0, len(files))
			for name := range files {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				info.Siblings = append(info.Siblings, sibling{RFilename: name, Size: len(files[name]), BlobID: gitBlobID(files[name])})
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(info)
			return
		}
		if name, ok := strings.CutPrefix(r.URL.Path, "/"+repo+"/resolve/"+FakeHubCommit+"/"); ok {
			if data, ok := files[name]; ok {
				w.Header().Set("Content-Length", fmt.Sprint(len(data)))
				_, _ = w.Write(data)
				return
			}
		}
		http.NotFound(w, r)
	}))
	tb.Cleanup(srv.Close)
	return srv.URL
}

// gitBlobID is git's object id of a blob, which the hub lists for files
// outside LFS.
func gitBlobID(data []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(data))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}
