package data

import "fmt"

// QualityAll disables the quality filter.
const QualityAll = "all"

// ParseQuality checks a quality filter name: high, low or all ("" = all).
func ParseQuality(s string) (string, error) {
	switch s {
	case QualityHigh, QualityLow, QualityAll:
		return s, nil
	case "":
		return QualityAll, nil
	}
	return "", fmt.Errorf("unknown quality %q (want high, low or all)", s)
}

// FilterQuality keeps the conversations of the given MI quality. It filters
// AnnoMI only: conversations without a quality label (CounselChat) pass,
// so that a mixed set keeps its CounselChat part. QualityAll or "" keeps
// everything.
func FilterQuality(convs []Conversation, quality string) []Conversation {
	if quality == "" || quality == QualityAll {
		return convs
	}
	var out []Conversation
	for _, c := range convs {
		if c.Quality == "" || c.Quality == quality {
			out = append(out, c)
		}
	}
	return out
}

// FirstGroups keeps the conversations of the first n distinct groups, in
// order of first appearance: a small, deterministic debug subset that keeps
// whole transcripts and questions together. n <= 0 keeps everything.
func FirstGroups(convs []Conversation, n int) []Conversation {
	return firstGroups(convs, n, func(c Conversation) string { return c.Source + "/" + c.Group })
}

// FirstPairGroups is FirstGroups for preference pairs.
func FirstPairGroups(pairs []PreferencePair, n int) []PreferencePair {
	return firstGroups(pairs, n, func(p PreferencePair) string { return p.Group })
}

func firstGroups[T any](items []T, n int, group func(T) string) []T {
	if n <= 0 {
		return items
	}
	kept := map[string]bool{}
	var out []T
	for _, it := range items {
		g := group(it)
		if !kept[g] {
			if len(kept) == n {
				continue
			}
			kept[g] = true
		}
		out = append(out, it)
	}
	return out
}
