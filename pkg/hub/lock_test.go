//go:build unix

package hub

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// Two holders of one blob lock never overlap, and a cancelled wait returns.
func TestLockBlob(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locks", "blob.lock")
	ctx := context.Background()
	unlock, err := lockBlob(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	var second atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		u, err := lockBlob(ctx, path)
		if err != nil {
			t.Error(err)
			return
		}
		second.Store(true)
		u()
	}()
	time.Sleep(300 * time.Millisecond)
	if second.Load() {
		t.Fatal("second holder got the lock while the first held it")
	}
	short, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
	defer cancel()
	if _, err := lockBlob(short, path); err == nil {
		t.Error("a cancelled wait took the lock")
	}
	unlock()
	<-done
	if !second.Load() {
		t.Error("second holder never got the lock")
	}
}
