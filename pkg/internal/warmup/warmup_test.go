package warmup

import "testing"

// TestSteps: steps win over a ratio; a ratio rounds up as Hugging Face
// does, but gives no warmup below one step and leaves at least one step
// after the warmup, so a short run is never made invalid.
func TestSteps(t *testing.T) {
	for _, tc := range []struct {
		steps       int
		ratio       float64
		total, want int
	}{
		{7, 0.5, 100, 7},
		{0, 0.03, 100, 3},
		{0, 0.03, 1, 0}, {0, 0.03, 20, 0}, {0, 0.03, 33, 0}, {0, 0.03, 34, 2},
		{0, 0.5, 2, 1}, {0, 0.9, 2, 1}, {0, 0.99, 3, 2}, {0, 1, 3, 2},
		{0, 0.5, 1, 0}, {0, 0, 10, 0},
	} {
		if got := Steps(tc.steps, tc.ratio, tc.total); got != tc.want {
			t.Errorf("Steps(%d, %v, %d) = %d, want %d", tc.steps, tc.ratio, tc.total, got, tc.want)
		}
	}
}
