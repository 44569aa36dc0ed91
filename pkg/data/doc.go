// Package data turns the two therapy corpora, CounselChat (single-turn
// questions and answers with upvotes) and AnnoMI (transcribed motivational
// interviewing sessions with expert labels), into clean, labelled, leak-free
// conversations, preference pairs and mixed training sets.
//
// The flow, one way:
//
//	LoadCorpus(dir)                      // both corpora, validated (see ParseError)
//	  .AnnoMI       → AnnoMIConversations  // windows ending in a therapist turn
//	  .CounselChat  → CounselChatConversations, PreferencePairs
//	  .Prepare(opts)                     // splits by group, quality filter, debug subset
//	  .Stats()                           // the `data stats --json` contract
//	Mix(sources, size, seed)             // curriculum mixing with a repeat report
//	WriteJSONL / ReadConversations       // the common {"messages":[...]} JSONL
//	AnnoMIFrame, CounselChatFrame        // gota DataFrames for notebooks
//
// Everything is deterministic for a seed, with the package's own generator
// (not math/rand), so that splits and mixes do not change across Go
// releases. Loaders find columns by name, reject unknown labels and
// malformed rows with errors naming file, line, column and CSV column, and
// count (rather than fail on) the corpus's known gaps: empty CounselChat
// answers. datasets/README.md documents the corpora and every policy here
// (tie-breaks, windows, splits) with the numbers the tests check.
package data
