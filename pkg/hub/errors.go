package hub

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Errors that callers can test with errors.Is.
var (
	// ErrGated: the repository needs a token of an account that accepted
	// its licence.
	ErrGated = errors.New("gated repository")
	// ErrUnauthorized: the hub refused the token or wants one.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrNotFound: no such repository, revision or file (or a private one
	// the token cannot see).
	ErrNotFound = errors.New("not found")
	// ErrNotCached: offline, and the model is not (completely) in the cache.
	ErrNotCached = errors.New("not in the cache")
)

// HTTPError is a hub request that failed with an HTTP status.
type HTTPError struct {
	StatusCode int
	URL        string
	Code       string // the hub's X-Error-Code header ("GatedRepo", "RepoNotFound", …)
	Message    string // the hub's X-Error-Message header or the start of the body
	Advice     string // what to do about it
	kind       error
}

func (e *HTTPError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d from %s", e.StatusCode, e.URL)
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.Advice != "" {
		fmt.Fprintf(&b, " (%s)", e.Advice)
	}
	return b.String()
}

// Unwrap returns ErrGated, ErrUnauthorized or ErrNotFound where one applies.
func (e *HTTPError) Unwrap() error { return e.kind }

// httpError builds the error for a failed response about repo, with advice
// for the cases a user can fix.
func (c *client) httpError(resp *http.Response, repo string) error {
	e := &HTTPError{StatusCode: resp.StatusCode, URL: resp.Request.URL.String(), Code: resp.Header.Get("X-Error-Code")}
	e.Message = resp.Header.Get("X-Error-Message")
	if e.Message == "" {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		e.Message = strings.TrimSpace(string(body))
	}
	page := c.endpoint + "/" + repo
	switch {
	case e.Code == "GatedRepo" || (resp.StatusCode == http.StatusForbidden && e.Code == ""):
		e.kind = ErrGated
		if c.token == "" {
			e.Advice = fmt.Sprintf("%s is a gated model: accept the licence at %s and set HF_TOKEN to a token of that account", repo, page)
		} else {
			e.Advice = fmt.Sprintf("%s is a gated model and this token has no access: accept the licence at %s with the account of HF_TOKEN", repo, page)
		}
	case e.Code == "RepoNotFound" || e.Code == "RevisionNotFound" || e.Code == "EntryNotFound" || resp.StatusCode == http.StatusNotFound:
		e.kind = ErrNotFound
		e.Advice = fmt.Sprintf("check the repo id and revision at %s", page)
		if c.token == "" && e.Code == "RepoNotFound" {
			e.Advice += "; a private repository needs HF_TOKEN"
		}
	case resp.StatusCode == http.StatusUnauthorized:
		e.kind = ErrUnauthorized
		if c.token == "" {
			e.Advice = fmt.Sprintf("%s needs authentication: accept the licence at %s if it is gated and set HF_TOKEN", repo, page)
		} else {
			e.Advice = "the token in HF_TOKEN was refused: create a new one at " + c.endpoint + "/settings/tokens"
		}
	}
	return e
}
