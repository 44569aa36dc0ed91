// Package hub turns a model argument into a local model directory: a local
// directory is used as it is, and a Hugging Face repo id
// ("google/gemma-3n-E2B-it", optionally "@revision") is downloaded into the
// standard Hugging Face cache, laid out exactly as the huggingface_hub Python
// library lays it out, so that both share one cache:
//
//	$HF_HUB_CACHE/models--google--gemma-3n-E2B-it/
//	    blobs/<sha256 or git blob id>      file contents, named by their etag
//	    refs/main                          the commit hash "main" resolved to
//	    snapshots/<commit>/config.json     relative symlink → ../../blobs/<etag>
//
// Only the files a text model needs are fetched (config, generation config,
// tokenizer files, safetensors weights and their index). Downloads resume
// from ".incomplete" files with HTTP Range requests, are verified against
// their sha256 (or git blob id), and land with atomic renames. The token
// comes from $HF_TOKEN (or the huggingface-cli token file); $HF_ENDPOINT
// changes the server and $HF_HUB_OFFLINE=1 forbids the network.
package hub

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// DefaultEndpoint is the Hugging Face hub used when $HF_ENDPOINT is unset.
const DefaultEndpoint = "https://huggingface.co"

// DefaultRevision is the branch used when the model argument names none.
const DefaultRevision = "main"

// Options configure Resolve. The zero value reads everything from the
// environment as huggingface_hub does.
type Options struct {
	// Endpoint of the hub; "" means $HF_ENDPOINT, else DefaultEndpoint.
	Endpoint string
	// Token for gated and private repos; "" means $HF_TOKEN (or
	// $HUGGING_FACE_HUB_TOKEN), else the token file ($HF_TOKEN_PATH or
	// $HF_HOME/token) that `huggingface-cli login` writes.
	Token string
	// CacheDir is the hub cache; "" means $HF_HUB_CACHE, else $HF_HOME/hub,
	// else ~/.cache/huggingface/hub.
	CacheDir string
	// Offline forbids network access, as $HF_HUB_OFFLINE=1 does: the model
	// must already be in the cache.
	Offline bool
	// Revision is used when the model argument has no "@revision"; "" means
	// DefaultRevision.
	Revision string
	// Include selects the repository files to download; nil means
	// TextModelFile.
	Include func(path string) bool
	// Progress, when set, is called as each file downloads (and once for a
	// file already in the cache).
	Progress func(Progress)
	// HTTPClient makes the requests; nil means http.DefaultClient.
	HTTPClient *http.Client
}

// Progress reports the download of one file.
type Progress struct {
	File  string // path within the repository
	Done  int64  // bytes on disk so far, including a resumed part
	Total int64  // size of the file
}

// Resolve returns the local directory of a model argument. An existing
// directory is returned unchanged. A Hugging Face repo id "org/name" or
// "org/name@revision" is looked up on the hub, its text-model files are
// downloaded into the cache (skipping those already there), and the
// snapshot directory is returned. In offline mode, or when the hub cannot
// be reached, a complete cached snapshot is used.
func Resolve(ctx context.Context, modelArg string, opts Options) (string, error) {
	if modelArg == "" {
		return "", errors.New("no model given: want a model directory or a Hugging Face repo id such as google/gemma-3n-E2B-it")
	}
	if info, err := os.Stat(modelArg); err == nil {
		if !info.IsDir() {
			return "", fmt.Errorf("model %q is a file: want a model directory (config.json, *.safetensors) or a Hugging Face repo id", modelArg)
		}
		return modelArg, nil
	}
	repo, revision, ok := ParseRepoID(modelArg)
	if !ok || looksLikePath(modelArg) {
		return "", fmt.Errorf("model directory %q does not exist (and it is not a Hugging Face repo id org/name[@revision])", modelArg)
	}
	if revision == "" {
		revision = opts.Revision
	}
	if revision == "" {
		revision = DefaultRevision
	}
	if !validRevision(revision) {
		return "", fmt.Errorf("invalid revision %q", revision)
	}
	c, err := newClient(opts)
	if err != nil {
		return "", err
	}
	return c.snapshot(ctx, repo, revision)
}

// repoPart is one half of a repo id, as the hub allows it: letters, digits,
// '-', '_', '.', not starting or ending with '-' or '.', at most 96 long.
var repoPart = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?$`)

// ParseRepoID splits "org/name[@revision]" into the repo id and revision
// ("" when absent). ok is false when s is not of that form.
func ParseRepoID(s string) (repo, revision string, ok bool) {
	repo, revision, hasRev := strings.Cut(s, "@")
	if hasRev && !validRevision(revision) {
		return "", "", false
	}
	org, name, found := strings.Cut(repo, "/")
	if !found || !repoPart.MatchString(org) || !repoPart.MatchString(name) {
		return "", "", false
	}
	if strings.Contains(repo, "--") || strings.Contains(repo, "..") {
		return "", "", false
	}
	return repo, revision, true
}

// validRevision accepts branch, tag and commit names that are also safe as
// paths below refs/ ("main", "v1.0", "refs/pr/3").
func validRevision(r string) bool {
	return r != "" && !strings.HasPrefix(r, "/") && !strings.ContainsAny(r, " \t\n\\\x00") && safeRepoPath(r)
}

// looksLikePath tells an intended local path from a repo id: "./x/y" or
// "/x/y" are never repo ids.
func looksLikePath(s string) bool {
	return strings.HasPrefix(s, "/") || strings.HasPrefix(s, ".") || strings.HasPrefix(s, "~") || filepath.IsAbs(s)
}

// TextModelFile reports whether a repository file is needed to run a text
// model: configuration, tokenizer and chat template files, and the
// safetensors weights with their index, at the top level of the repository.
// Everything else (README, images, ONNX or GGUF exports, processor configs
// of the vision and audio towers) is skipped.
func TextModelFile(path string) bool {
	if strings.Contains(path, "/") {
		return false
	}
	switch path {
	case "config.json", "generation_config.json",
		"tokenizer.json", "tokenizer_config.json", "tokenizer.model",
		"special_tokens_map.json", "added_tokens.json",
		"chat_template.jinja", "chat_template.json",
		"model.safetensors.index.json":
		return true
	}
	return strings.HasSuffix(path, ".safetensors")
}
