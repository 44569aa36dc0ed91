// Package data turns the two therapy corpora, CounselChat (single-turn
// questions and answers with upvotes) and AnnoMI (transcribed motivational
// interviewing sessions with expert labels), into clean, labelled, leak-free
// conversations, preference pairs and mixed training sets.
package data
