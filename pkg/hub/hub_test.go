package hub

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

const (
	commitA = "0123456789abcdef0123456789abcdef01234567"
	commitB = "89abcdef0123456789abcdef0123456789abcdef"
)

// gemmaLikeRepo is a repository shaped like google/gemma-3n-E2B-it: sharded
// weights behind an index, tokenizer files, and files a text model skips.
func gemmaLikeRepo() *fakeRepo {
	shard1 := bytes.Repeat([]byte("weights-shard-one "), 40_000) // ~720 KB, several progress chunks
	shard2 := bytes.Repeat([]byte("weights-shard-two "), 1_000)
	return &fakeRepo{
		commit: commitA,
		tags:   map[string]string{"v1.0": commitB},
		files: map[string][]byte{
			"config.json":                      []byte(`{"model_type": "gemma3n"}`),
			"generation_config.json":           []byte(`{"do_sample": true}`),
			"tokenizer.json":                   []byte(`{"model": {"type": "BPE"}}`),
			"tokenizer_config.json":            []byte(`{"bos_token": "<bos>"}`),
			"special_tokens_map.json":          []byte(`{}`),
			"chat_template.jinja":              []byte("{{ bos_token }}"),
			"model.safetensors.index.json":     []byte(`{"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}`),
			"model-00001-of-00002.safetensors": shard1,
			"model-00002-of-00002.safetensors": shard2,
			"README.md":                        []byte("# model card"),
			"preprocessor_config.json":         []byte(`{}`),
			"onnx/model.safetensors":           []byte("not for us"),
			".gitattributes":                   []byte("*.safetensors filter=lfs"),
		},
		lfs: map[string]bool{"model-00001-of-00002.safetensors": true, "model-00002-of-00002.safetensors": true},
	}
}

var textFiles = []string{"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
	"special_tokens_map.json", "chat_template.jinja", "model.safetensors.index.json",
	"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}

// isolate points every Hugging Face environment variable at the test.
func isolate(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	for _, v := range []string{"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_ENDPOINT", "HF_HUB_OFFLINE", "XDG_CACHE_HOME"} {
		t.Setenv(v, "")
	}
	t.Setenv("HF_HOME", filepath.Join(home, "hf"))
	t.Setenv("HOME", home)
	return filepath.Join(home, "hf", "hub")
}

// progressLog records progress reports; Resolve may call it from one
// goroutine only, the lock is for the race detector's peace of mind.
type progressLog struct {
	mu   sync.Mutex
	last map[string]Progress
	all  []Progress
}

func (p *progressLog) record(pr Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last == nil {
		p.last = map[string]Progress{}
	}
	p.last[pr.File] = pr
	p.all = append(p.all, pr)
}

func TestDownloadCacheLayout(t *testing.T) {
	cache := isolate(t)
	hub := newFakeHub(t)
	repo := gemmaLikeRepo()
	hub.repos["google/gemma-3n-E2B-it"] = repo
	t.Setenv("HF_ENDPOINT", hub.URL)
	t.Setenv("HF_TOKEN", "hf_secret")

	var progress progressLog
	dir, err := Resolve(context.Background(), "google/gemma-3n-E2B-it", Options{Progress: progress.record})
	if err != nil {
		t.Fatal(err)
	}
	repoDir := filepath.Join(cache, "models--google--gemma-3n-E2B-it")
	if want := filepath.Join(repoDir, "snapshots", commitA); dir != want {
		t.Fatalf("dir = %s, want %s", dir, want)
	}
	if ref, err := os.ReadFile(filepath.Join(repoDir, "refs", "main")); err != nil || string(ref) != commitA {
		t.Errorf("refs/main = %q, %v; want the bare commit hash", ref, err)
	}
	for _, name := range textFiles {
		data := repo.files[name]
		etag := blobID(data)
		if repo.lfs[name] {
			etag = sha256Of(data)
		}
		link := filepath.Join(dir, name)
		target, err := os.Readlink(link)
		if err != nil {
			t.Errorf("%s: not a symlink: %v", name, err)
			continue
		}
		if want := filepath.Join("..", "..", "blobs", etag); target != want {
			t.Errorf("%s -> %s, want %s", name, target, want)
		}
		if got, err := os.ReadFile(link); err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: content differs (%v)", name, err)
		}
		if p := progress.last[name]; p.Done != int64(len(data)) || p.Total != int64(len(data)) {
			t.Errorf("%s: last progress %+v, want %d/%d", name, p, len(data), len(data))
		}
	}
	for _, skipped := range []string{"README.md", "preprocessor_config.json", ".gitattributes", "onnx"} {
		if _, err := os.Lstat(filepath.Join(dir, skipped)); err == nil {
			t.Errorf("%s was downloaded", skipped)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(repoDir, "blobs"))
	if len(entries) != len(textFiles) {
		t.Errorf("%d blobs, want %d (no .incomplete left)", len(entries), len(textFiles))
	}
	// Progress grows monotonically within a file.
	last := map[string]int64{}
	for _, p := range progress.all {
		if p.Done < last[p.File] || p.Done > p.Total {
			t.Errorf("progress went from %d to %d of %d for %s", last[p.File], p.Done, p.Total, p.File)
		}
		last[p.File] = p.Done
	}
	for _, r := range hub.log() {
		if strings.HasPrefix(r.Path, "/cdn/") {
			continue // a different host on the real hub: Go drops the token there
		}
		if r.Auth != "Bearer hf_secret" {
			t.Errorf("%s sent Authorization %q", r.Path, r.Auth)
		}
		for _, skipped := range []string{"README.md", "preprocessor_config.json", "onnx"} {
			if strings.Contains(r.Path, skipped) {
				t.Errorf("requested %s", r.Path)
			}
		}
	}

	// A second run only asks which commit main is.
	hub.reset()
	dir2, err := Resolve(context.Background(), "google/gemma-3n-E2B-it", Options{})
	if err != nil || dir2 != dir {
		t.Fatalf("second Resolve = %s, %v", dir2, err)
	}
	if reqs := hub.log(); len(reqs) != 1 || !strings.HasPrefix(reqs[0].Path, "/api/models/") {
		t.Errorf("second run requests %v, want only the model info", reqs)
	}
}

// The blob name of a regular file is git's object id, exactly.
func TestGitBlobID(t *testing.T) {
	f := repoFile{size: 6}
	h := newDigest(f)
	h.Write([]byte("hello\n"))
	const want = "ce013625030ba8dba906f756967f9e9ca394464a" // git hash-object of "hello\n"
	if got := strings.ToLower(hexString(h.Sum(nil))); got != want {
		t.Errorf("git blob id %s, want %s", got, want)
	}
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func TestRevisionsAndNestedFiles(t *testing.T) {
	cache := isolate(t)
	hub := newFakeHub(t)
	repo := gemmaLikeRepo()
	repo.files["sub/dir/extra.json"] = []byte(`{"x": 1}`)
	hub.repos["org/model"] = repo
	all := func(string) bool { return true }
	dir, err := Resolve(context.Background(), "org/model@v1.0", Options{Endpoint: hub.URL, Include: all})
	if err != nil {
		t.Fatal(err)
	}
	repoDir := RepoCacheDir(cache, "org/model")
	if dir != filepath.Join(repoDir, "snapshots", commitB) {
		t.Errorf("dir = %s", dir)
	}
	if ref, _ := os.ReadFile(filepath.Join(repoDir, "refs", "v1.0")); string(ref) != commitB {
		t.Errorf("refs/v1.0 = %q", ref)
	}
	target, err := os.Readlink(filepath.Join(dir, "sub", "dir", "extra.json"))
	if want := filepath.Join("..", "..", "..", "..", "blobs", blobID(repo.files["sub/dir/extra.json"])); err != nil || target != want {
		t.Errorf("nested link -> %s (%v), want %s", target, err, want)
	}
}

func TestResumeAfterDroppedConnection(t *testing.T) {
	cache := isolate(t)
	hub := newFakeHub(t)
	repo := gemmaLikeRepo()
	hub.repos["org/model"] = repo
	const shard = "model-00001-of-00002.safetensors"
	data := repo.files[shard]
	half := len(data) / 2
	hub.cutAfter[shard] = half

	if _, err := Resolve(context.Background(), "org/model", Options{Endpoint: hub.URL}); err == nil {
		t.Fatal("a dropped connection was not an error")
	}
	partial := filepath.Join(RepoCacheDir(cache, "org/model"), "blobs", sha256Of(data)+".incomplete")
	info, err := os.Stat(partial)
	if err != nil || info.Size() != int64(half) {
		t.Fatalf("partial file: %v, size %v, want %d", err, info, half)
	}

	hub.reset()
	var progress progressLog
	dir, err := Resolve(context.Background(), "org/model", Options{Endpoint: hub.URL, Progress: progress.record})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, shard)); !bytes.Equal(got, data) {
		t.Error("resumed file differs")
	}
	var ranges []string
	for _, r := range hub.log() {
		if strings.HasPrefix(r.Path, "/cdn/") { // where the resolve URL redirects
			ranges = append(ranges, r.Range)
		}
	}
	if want := "bytes=" + strconv.Itoa(half) + "-"; len(ranges) != 2 || ranges[0] != want || ranges[1] != "" {
		t.Errorf("CDN requests with Range %q, want [%s, \"\"] (resumed shard, then the other one)", ranges, want)
	}
	for _, p := range progress.all {
		if p.File == shard && p.Done < int64(half) {
			t.Errorf("resumed progress starts at %d, below the %d bytes already there", p.Done, half)
		}
	}
	if _, err := os.Stat(partial); !os.IsNotExist(err) {
		t.Errorf(".incomplete file left behind: %v", err)
	}
}

func TestResumeRestartsWhenServerIgnoresRange(t *testing.T) {
	cache := isolate(t)
	hub := newFakeHub(t)
	repo := gemmaLikeRepo()
	hub.repos["org/model"] = repo
	hub.ignoreRange = true
	const shard = "model-00002-of-00002.safetensors"
	data := repo.files[shard]
	blobs := filepath.Join(RepoCacheDir(cache, "org/model"), "blobs")
	os.MkdirAll(blobs, 0o755)
	os.WriteFile(filepath.Join(blobs, sha256Of(data)+".incomplete"), data[:100], 0o644)

	dir, err := Resolve(context.Background(), "org/model", Options{Endpoint: hub.URL})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, shard)); !bytes.Equal(got, data) {
		t.Error("file differs after a restart")
	}
}

func TestCorruptDownloads(t *testing.T) {
	cache := isolate(t)
	hub := newFakeHub(t)
	repo := gemmaLikeRepo()
	hub.repos["org/model"] = repo
	const shard = "model-00002-of-00002.safetensors"
	data := repo.files[shard]
	repoDir := RepoCacheDir(cache, "org/model")

	// The server sends bad bytes: an error, and nothing usable in the cache.
	hub.corrupt[shard] = true
	_, err := Resolve(context.Background(), "org/model", Options{Endpoint: hub.URL})
	if err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Fatalf("got %v, want a checksum mismatch", err)
	}
	if _, err := os.Stat(filepath.Join(repoDir, "blobs", sha256Of(data))); !os.IsNotExist(err) {
		t.Error("a corrupt blob was kept")
	}
	if _, err := os.Lstat(filepath.Join(repoDir, "snapshots", commitA, shard)); !os.IsNotExist(err) {
		t.Error("a corrupt file was linked into the snapshot")
	}

	// A corrupt partial file from an earlier run: detected after resuming,
	// discarded, and the next run downloads it whole.
	hub.corrupt[shard] = false
	partial := filepath.Join(repoDir, "blobs", sha256Of(data)+".incomplete")
	bad := append([]byte(nil), data[:500]...)
	bad[10] ^= 1
	os.WriteFile(partial, bad, 0o644)
	if _, err := Resolve(context.Background(), "org/model", Options{Endpoint: hub.URL}); err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Fatalf("got %v, want a checksum mismatch", err)
	}
	dir, err := Resolve(context.Background(), "org/model", Options{Endpoint: hub.URL})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, shard)); !bytes.Equal(got, data) {
		t.Error("file differs")
	}
}

func TestGatedModel(t *testing.T) {
	isolate(t)
	hub := newFakeHub(t)
	repo := gemmaLikeRepo()
	repo.gated, repo.token = true, "hf_accepted"
	hub.repos["google/gemma-3n-E2B-it"] = repo
	ctx := context.Background()

	_, err := Resolve(ctx, "google/gemma-3n-E2B-it", Options{Endpoint: hub.URL})
	var httpErr *HTTPError
	if !errors.Is(err, ErrGated) || !errors.As(err, &httpErr) || httpErr.StatusCode != 401 {
		t.Fatalf("no token: got %v, want a 401 gated error", err)
	}
	for _, want := range []string{"accept the licence at " + hub.URL + "/google/gemma-3n-E2B-it", "set HF_TOKEN", "HTTP 401"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}

	t.Setenv("HF_TOKEN", "hf_other_account")
	_, err = Resolve(ctx, "google/gemma-3n-E2B-it", Options{Endpoint: hub.URL})
	if !errors.Is(err, ErrGated) || !strings.Contains(err.Error(), "HTTP 403") || !strings.Contains(err.Error(), "this token has no access") {
		t.Fatalf("wrong token: got %v", err)
	}

	// The token of `huggingface-cli login`, in $HF_HOME/token.
	t.Setenv("HF_TOKEN", "")
	os.MkdirAll(os.Getenv("HF_HOME"), 0o755)
	os.WriteFile(filepath.Join(os.Getenv("HF_HOME"), "token"), []byte("hf_accepted\n"), 0o600)
	if _, err := Resolve(ctx, "google/gemma-3n-E2B-it", Options{Endpoint: hub.URL}); err != nil {
		t.Fatalf("token file: %v", err)
	}
}

func TestNotFound(t *testing.T) {
	isolate(t)
	hub := newFakeHub(t)
	hub.repos["org/model"] = gemmaLikeRepo()
	for _, arg := range []string{"org/missing", "org/model@no-such-branch"} {
		_, err := Resolve(context.Background(), arg, Options{Endpoint: hub.URL})
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: got %v, want ErrNotFound", arg, err)
		}
	}
	_, err := Resolve(context.Background(), "org/missing", Options{Endpoint: hub.URL})
	if err == nil || !strings.Contains(err.Error(), "a private repository needs HF_TOKEN") {
		t.Errorf("got %v", err)
	}
}

func TestNotAModelRepo(t *testing.T) {
	isolate(t)
	hub := newFakeHub(t)
	hub.repos["org/data"] = &fakeRepo{commit: commitA, files: map[string][]byte{"README.md": []byte("x")}}
	if _, err := Resolve(context.Background(), "org/data", Options{Endpoint: hub.URL}); err == nil || !strings.Contains(err.Error(), "no config.json") {
		t.Errorf("got %v", err)
	}
}

func TestUnsafeFileNames(t *testing.T) {
	isolate(t)
	hub := newFakeHub(t)
	repo := gemmaLikeRepo()
	repo.files["../../escape.json"] = []byte("x")
	hub.repos["org/model"] = repo
	all := func(string) bool { return true }
	if _, err := Resolve(context.Background(), "org/model", Options{Endpoint: hub.URL, Include: all}); err == nil || !strings.Contains(err.Error(), "unsafe file name") {
		t.Errorf("got %v", err)
	}
}

func TestOffline(t *testing.T) {
	cache := isolate(t)
	hub := newFakeHub(t)
	hub.repos["org/model"] = gemmaLikeRepo()
	ctx := context.Background()

	t.Setenv("HF_HUB_OFFLINE", "1")
	_, err := Resolve(ctx, "org/model", Options{Endpoint: hub.URL})
	if !errors.Is(err, ErrNotCached) || !strings.Contains(err.Error(), "HF_HUB_OFFLINE") {
		t.Fatalf("offline cache miss: got %v", err)
	}
	if n := len(hub.log()); n != 0 {
		t.Errorf("offline mode made %d requests", n)
	}

	t.Setenv("HF_HUB_OFFLINE", "")
	online, err := Resolve(ctx, "org/model", Options{Endpoint: hub.URL})
	if err != nil {
		t.Fatal(err)
	}
	hub.reset()
	for _, arg := range []string{"org/model", "org/model@main", "org/model@" + commitA} {
		dir, err := Resolve(ctx, arg, Options{Endpoint: hub.URL, Offline: true})
		if err != nil || dir != online {
			t.Errorf("%s offline: %s, %v; want %s", arg, dir, err, online)
		}
	}
	t.Setenv("HF_HUB_OFFLINE", "true")
	if dir, err := Resolve(ctx, "org/model", Options{Endpoint: hub.URL}); err != nil || dir != online {
		t.Errorf("HF_HUB_OFFLINE=true: %s, %v", dir, err)
	}
	if n := len(hub.log()); n != 0 {
		t.Errorf("offline mode made %d requests", n)
	}

	// An incomplete snapshot is not served.
	os.Remove(filepath.Join(RepoCacheDir(cache, "org/model"), "snapshots", commitA, "model-00002-of-00002.safetensors"))
	if _, err := Resolve(ctx, "org/model", Options{Endpoint: hub.URL}); !errors.Is(err, ErrNotCached) || !strings.Contains(err.Error(), "lacks the shard model-00002-of-00002.safetensors") {
		t.Errorf("incomplete snapshot: got %v", err)
	}
}

func TestUnreachableHubUsesCache(t *testing.T) {
	isolate(t)
	hub := newFakeHub(t)
	hub.repos["org/model"] = gemmaLikeRepo()
	ctx := context.Background()
	online, err := Resolve(ctx, "org/model", Options{Endpoint: hub.URL})
	if err != nil {
		t.Fatal(err)
	}
	hub.Close()
	dir, err := Resolve(ctx, "org/model", Options{Endpoint: hub.URL})
	if err != nil || dir != online {
		t.Errorf("hub down, model cached: %s, %v", dir, err)
	}
	if _, err := Resolve(ctx, "org/other", Options{Endpoint: hub.URL}); err == nil || !strings.Contains(err.Error(), "cannot reach the Hugging Face hub") {
		t.Errorf("hub down, model not cached: %v", err)
	}
}

func TestCancelledContext(t *testing.T) {
	isolate(t)
	hub := newFakeHub(t)
	hub.repos["org/model"] = gemmaLikeRepo()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Resolve(ctx, "org/model", Options{Endpoint: hub.URL}); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v", err)
	}
}

func TestLocalDirectories(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "config.json")
	os.WriteFile(file, []byte("{}"), 0o644)
	tests := []struct {
		arg, want, wantErr string
	}{
		{arg: dir, want: dir},
		{arg: file, wantErr: "is a file"},
		{arg: filepath.Join(dir, "missing"), wantErr: "does not exist"},
		{arg: "./models/gemma", wantErr: "does not exist"},
		{arg: "gemma", wantErr: "does not exist"},
		{arg: "", wantErr: "no model given"},
		{arg: "org/model@", wantErr: "not a Hugging Face repo id"},
	}
	for _, tc := range tests {
		got, err := Resolve(context.Background(), tc.arg, Options{Endpoint: "http://127.0.0.1:1"})
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: got %v, want an error with %q", tc.arg, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: got %s, %v", tc.arg, got, err)
		}
	}
	if _, err := Resolve(context.Background(), "org/model", Options{Revision: "../x"}); err == nil || !strings.Contains(err.Error(), "invalid revision") {
		t.Errorf("bad revision option: %v", err)
	}
}

func TestParseRepoID(t *testing.T) {
	tests := []struct {
		in, repo, rev string
		ok            bool
	}{
		{"google/gemma-3n-E2B-it", "google/gemma-3n-E2B-it", "", true},
		{"google/gemma-3n-E2B-it@main", "google/gemma-3n-E2B-it", "main", true},
		{"org/model@refs/pr/3", "org/model", "refs/pr/3", true},
		{"org/model@" + commitA, "org/model", commitA, true},
		{"org_1/model.v2", "org_1/model.v2", "", true},
		{"gemma", "", "", false},
		{"a/b/c", "", "", false},
		{"/abs/path", "", "", false},
		{"org/-model", "", "", false},
		{"org/model.", "", "", false},
		{"org/mo--del", "", "", false},
		{"org/mo..del", "", "", false},
		{"org/model@", "", "", false},
		{"org/model@../../x", "", "", false},
		{"org/model@a b", "", "", false},
		{"org/" + strings.Repeat("m", 97), "", "", false},
	}
	for _, tc := range tests {
		repo, rev, ok := ParseRepoID(tc.in)
		if repo != tc.repo || rev != tc.rev || ok != tc.ok {
			t.Errorf("ParseRepoID(%q) = %q, %q, %v; want %q, %q, %v", tc.in, repo, rev, ok, tc.repo, tc.rev, tc.ok)
		}
	}
}

func TestTextModelFile(t *testing.T) {
	for name, want := range map[string]bool{
		"config.json": true, "generation_config.json": true, "tokenizer.json": true, "tokenizer.model": true,
		"tokenizer_config.json": true, "special_tokens_map.json": true, "chat_template.jinja": true,
		"model.safetensors": true, "model-00001-of-00003.safetensors": true, "model.safetensors.index.json": true,
		"README.md": false, ".gitattributes": false, "preprocessor_config.json": false, "processor_config.json": false,
		"onnx/model.safetensors": false, "model.gguf": false, "pytorch_model.bin": false,
	} {
		if got := TextModelFile(name); got != want {
			t.Errorf("TextModelFile(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestEnvironment(t *testing.T) {
	home := t.TempDir()
	isolate(t)
	t.Setenv("HF_HOME", "")
	t.Setenv("HOME", home)
	if dir, _ := CacheDir(); dir != filepath.Join(home, ".cache", "huggingface", "hub") {
		t.Errorf("default cache %s", dir)
	}
	t.Setenv("XDG_CACHE_HOME", "/xdg")
	if dir, _ := CacheDir(); dir != "/xdg/huggingface/hub" {
		t.Errorf("XDG cache %s", dir)
	}
	t.Setenv("HF_HOME", "/hf")
	if dir, _ := CacheDir(); dir != "/hf/hub" {
		t.Errorf("HF_HOME cache %s", dir)
	}
	t.Setenv("HF_HUB_CACHE", "/cache")
	if dir, _ := CacheDir(); dir != "/cache" {
		t.Errorf("HF_HUB_CACHE %s", dir)
	}
	tokenFile := filepath.Join(home, "tok")
	os.WriteFile(tokenFile, []byte("  hf_file \n"), 0o600)
	t.Setenv("HF_TOKEN_PATH", tokenFile)
	if got := Token(); got != "hf_file" {
		t.Errorf("token file: %q", got)
	}
	t.Setenv("HUGGING_FACE_HUB_TOKEN", "hf_legacy")
	if got := Token(); got != "hf_legacy" {
		t.Errorf("legacy variable: %q", got)
	}
	t.Setenv("HF_TOKEN", "hf_env")
	if got := Token(); got != "hf_env" {
		t.Errorf("HF_TOKEN: %q", got)
	}
	for value, want := range map[string]bool{"1": true, "ON": true, "yes": true, "True": true, "0": false, "": false, "off": false} {
		t.Setenv("HF_HUB_OFFLINE", value)
		if got := envTrue("HF_HUB_OFFLINE"); got != want {
			t.Errorf("HF_HUB_OFFLINE=%q: %v", value, got)
		}
	}
	t.Setenv("HF_HUB_OFFLINE", "")
	t.Setenv("HF_ENDPOINT", "https://mirror.example/")
	c, err := newClient(Options{})
	if err != nil || c.endpoint != "https://mirror.example" || c.token != "hf_env" || c.cacheDir != "/cache" || c.offline {
		t.Errorf("client %+v, %v", c, err)
	}
}
