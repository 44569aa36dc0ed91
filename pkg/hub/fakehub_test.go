package hub

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeRepo is a repository served by fakeHub.
type fakeRepo struct {
	commit string
	tags   map[string]string // other revisions → commit
	files  map[string][]byte
	lfs    map[string]bool
	gated  bool   // resolve requests need the token
	token  string // the token that has accepted the licence
}

// fakeHub serves the two hub endpoints that Resolve uses, records every
// request, and can misbehave on demand.
type fakeHub struct {
	*httptest.Server
	repos map[string]*fakeRepo

	mu          sync.Mutex
	requests    []request
	ignoreRange bool           // answer Range requests with the whole file
	cutAfter    map[string]int // file → bytes sent before the connection drops (once)
	corrupt     map[string]bool
}

type request struct {
	Path, Auth, Range string
}

func newFakeHub(t *testing.T) *fakeHub {
	h := &fakeHub{repos: map[string]*fakeRepo{}, cutAfter: map[string]int{}, corrupt: map[string]bool{}}
	h.Server = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.Close)
	return h
}

func (h *fakeHub) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests = nil
}

func (h *fakeHub) log() []request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]request(nil), h.requests...)
}

// blobID is git's object id of a blob, as the hub reports for non-LFS files.
func blobID(data []byte) string {
	s := sha1.New()
	fmt.Fprintf(s, "blob %d\x00", len(data))
	s.Write(data)
	return hex.EncodeToString(s.Sum(nil))
}

func sha256Of(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

func (h *fakeHub) serve(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.requests = append(h.requests, request{Path: r.URL.Path, Auth: r.Header.Get("Authorization"), Range: r.Header.Get("Range")})
	h.mu.Unlock()

	if rest, ok := strings.CutPrefix(r.URL.Path, "/api/models/"); ok {
		h.serveInfo(w, r, rest)
		return
	}
	if sum, ok := strings.CutPrefix(r.URL.Path, "/cdn/"); ok {
		for _, repo := range h.repos {
			for name, data := range repo.files {
				if sha256Of(data) == sum {
					h.serveFile(w, r, name, data)
					return
				}
			}
		}
		http.NotFound(w, r)
		return
	}
	// /{org}/{name}/resolve/{commit}/{file...}
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 5)
	if len(parts) < 5 || parts[2] != "resolve" {
		http.NotFound(w, r)
		return
	}
	repo, ok := h.repos[parts[0]+"/"+parts[1]]
	if !ok {
		hubError(w, http.StatusNotFound, "RepoNotFound", "Repository not found")
		return
	}
	if repo.gated && r.Header.Get("Authorization") != "Bearer "+repo.token {
		status := http.StatusUnauthorized
		if r.Header.Get("Authorization") != "" {
			status = http.StatusForbidden
		}
		hubError(w, status, "GatedRepo", "Access to model "+parts[0]+"/"+parts[1]+" is restricted.")
		return
	}
	if !repo.hasCommit(parts[3]) {
		hubError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id")
		return
	}
	data, ok := repo.files[parts[4]]
	if !ok {
		hubError(w, http.StatusNotFound, "EntryNotFound", "Entry not found")
		return
	}
	if repo.lfs[parts[4]] {
		// Large files live on a CDN, as on the real hub.
		w.Header().Set("X-Linked-Etag", `"`+sha256Of(data)+`"`)
		http.Redirect(w, r, "/cdn/"+sha256Of(data), http.StatusFound)
		return
	}
	h.serveFile(w, r, parts[4], data)
}

func (r *fakeRepo) hasCommit(c string) bool {
	if c == r.commit {
		return true
	}
	for _, t := range r.tags {
		if t == c {
			return true
		}
	}
	return false
}

func hubError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("X-Error-Code", code)
	w.Header().Set("X-Error-Message", msg)
	http.Error(w, msg, status)
}

func (h *fakeHub) serveInfo(w http.ResponseWriter, r *http.Request, rest string) {
	// {org}/{name}/revision/{rev}
	parts := strings.SplitN(rest, "/", 4)
	if len(parts) != 4 || parts[2] != "revision" {
		http.NotFound(w, r)
		return
	}
	repo, ok := h.repos[parts[0]+"/"+parts[1]]
	if !ok {
		// The hub answers 401 for unknown repos without a token, so as not
		// to reveal private ones.
		hubError(w, http.StatusUnauthorized, "RepoNotFound", "Repository not found")
		return
	}
	if r.URL.Query().Get("blobs") != "true" {
		http.Error(w, "want blobs=true", http.StatusBadRequest)
		return
	}
	commit := repo.commit
	if rev := parts[3]; rev != "main" && rev != repo.commit {
		if commit, ok = repo.tags[rev]; !ok {
			hubError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
			return
		}
	}
	type lfs struct {
		SHA256 string `json:"sha256"`
		Size   int    `json:"size"`
	}
	type sib struct {
		RFilename string `json:"rfilename"`
		Size      int    `json:"size"`
		BlobID    string `json:"blobId"`
		LFS       *lfs   `json:"lfs,omitempty"`
	}
	info := struct {
		ID       string `json:"id"`
		SHA      string `json:"sha"`
		Siblings []sib  `json:"siblings"`
	}{ID: parts[0] + "/" + parts[1], SHA: commit}
	names := make([]string, 0, len(repo.files))
	for n := range repo.files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		data := repo.files[n]
		s := sib{RFilename: n, Size: len(data), BlobID: blobID(data)}
		if repo.lfs[n] {
			s.BlobID = blobID([]byte("version https://git-lfs.github.com/spec/v1\n")) // the pointer's id
			s.LFS = &lfs{SHA256: sha256Of(data), Size: len(data)}
		}
		info.Siblings = append(info.Siblings, s)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(info)
}

// serveFile answers with the file, honouring "Range: bytes=N-" unless told
// not to, and misbehaving as configured.
func (h *fakeHub) serveFile(w http.ResponseWriter, r *http.Request, name string, data []byte) {
	h.mu.Lock()
	cut, cutOnce := h.cutAfter[name]
	delete(h.cutAfter, name)
	corrupt, ignoreRange := h.corrupt[name], h.ignoreRange
	h.mu.Unlock()
	if corrupt {
		data = append([]byte(nil), data...)
		data[len(data)/2] ^= 0xff
	}
	start := 0
	status := http.StatusOK
	if rg := r.Header.Get("Range"); rg != "" && !ignoreRange {
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-"))
		if err != nil || n >= len(data) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", len(data)))
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		start, status = n, http.StatusPartialContent
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", n, len(data)-1, len(data)))
	}
	body := data[start:]
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if cutOnce && cut < len(body) {
		w.Write(body[:cut])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // drop the connection mid-file
	}
	w.Write(body)
}
