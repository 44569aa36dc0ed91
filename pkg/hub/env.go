package hub

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// client is Options with every default resolved.
type client struct {
	endpoint string
	token    string
	cacheDir string
	offline  bool
	include  func(string) bool
	progress func(Progress)
	http     *http.Client
}

func newClient(o Options) (*client, error) {
	c := &client{
		endpoint: strings.TrimRight(firstNonEmpty(o.Endpoint, os.Getenv("HF_ENDPOINT"), DefaultEndpoint), "/"),
		token:    o.Token,
		cacheDir: o.CacheDir,
		offline:  o.Offline || envTrue("HF_HUB_OFFLINE"),
		include:  o.Include,
		progress: o.Progress,
		http:     o.HTTPClient,
	}
	if c.include == nil {
		c.include = TextModelFile
	}
	if c.http == nil {
		c.http = http.DefaultClient
	}
	if c.cacheDir == "" {
		dir, err := CacheDir()
		if err != nil {
			return nil, err
		}
		c.cacheDir = dir
	}
	if c.token == "" {
		c.token = Token()
	}
	return c, nil
}

// CacheDir returns the hub cache directory from the environment, as
// huggingface_hub resolves it: $HF_HUB_CACHE, $HUGGINGFACE_HUB_CACHE,
// $HF_HOME/hub, $XDG_CACHE_HOME/huggingface/hub, ~/.cache/huggingface/hub.
func CacheDir() (string, error) {
	if dir := firstNonEmpty(os.Getenv("HF_HUB_CACHE"), os.Getenv("HUGGINGFACE_HUB_CACHE")); dir != "" {
		return dir, nil
	}
	home, err := hfHome()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, "hub"), nil
}

// hfHome is $HF_HOME, $XDG_CACHE_HOME/huggingface or ~/.cache/huggingface.
func hfHome() (string, error) {
	if dir := os.Getenv("HF_HOME"); dir != "" {
		return dir, nil
	}
	if xdg := os.Getenv("XDG_CACHE_HOME"); xdg != "" {
		return filepath.Join(xdg, "huggingface"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return "", errors.New("cannot find the Hugging Face cache: set HF_HOME or HF_HUB_CACHE")
	}
	return filepath.Join(home, ".cache", "huggingface"), nil
}

// Token returns the Hugging Face token from the environment: $HF_TOKEN,
// $HUGGING_FACE_HUB_TOKEN, then the file at $HF_TOKEN_PATH or $HF_HOME/token.
// It returns "" when there is none.
func Token() string {
	if t := strings.TrimSpace(firstNonEmpty(os.Getenv("HF_TOKEN"), os.Getenv("HUGGING_FACE_HUB_TOKEN"))); t != "" {
		return t
	}
	path := os.Getenv("HF_TOKEN_PATH")
	if path == "" {
		home, err := hfHome()
		if err != nil {
			return ""
		}
		path = filepath.Join(home, "token")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

// envTrue reads a boolean environment variable as huggingface_hub does.
func envTrue(name string) bool {
	switch strings.ToUpper(strings.TrimSpace(os.Getenv(name))) {
	case "1", "ON", "YES", "TRUE":
		return true
	}
	return false
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
