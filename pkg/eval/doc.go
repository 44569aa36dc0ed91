// Package eval measures how well a model, with or without a LoRA adapter,
// answers as a motivational-interviewing counsellor: it generates replies
// to held-out CounselChat questions and AnnoMI client turns and scores them
// against the counsellors' own replies with every measure of package
// metrics. Run is the one call that the command `gemma3n-therapy eval` and
// the notebooks share; Compare puts several evaluations (base, SFT,
// curriculum, DPO) side by side.
//
// The flow of Run, one way:
//
//	config (the run's YAML, or the shipped defaults; --debug subsets)
//	  → model (+ adapter) and tokenizer   (stage.LoadModel, lora.Load)
//	  → examples (SelectExamples)          held-out split, per source, --limit spread evenly
//	  → prompts (FitPrompt)                chat template + generation prompt, oldest turns dropped to fit
//	  → replies (generated in batches)     greedy by default, stop on <end_of_turn>/<eos>
//	  → scores                             BLEU, chrF, ROUGE-1/2/L, BERTScore, keyword measures,
//	                                       MI behaviour (learned classifier), MITI summary
//	  → OUT/metrics.json, OUT/examples.jsonl (both written atomically)
//
// Examples. For CounselChat, one example per test question: the prompt is
// the question and the reference its most upvoted answer (the first in the
// site's order on ties), so each question is generated once. For AnnoMI,
// one example per therapist turn that answers a client turn: the prompt is
// the window of preceding turns (data.yaml's context_turns) ending with the
// client's turn, the reference is the therapist's reply, and the expert
// label of that reply is kept as the gold MI code. With a limit of N per
// source, N examples are taken evenly spaced over the source's examples, so
// that a small evaluation still spans many transcripts and questions.
//
// BERTScore needs contextual token embeddings. The default encoder
// (HiddenEncoder) reads one named hidden layer of the Gemma 3n base model
// under evaluation, with any adapter switched off, so that the base model
// and all its fine-tunes are scored by the same encoder and their BERTScores
// compare. BERTScores from different encoders (another base model, another
// layer) are on different scales and must not be compared: metrics.json
// names the encoder and layer, and Compare flags runs whose encoders differ.
//
// metrics.json holds the settings of the run and aggregates per source and
// overall; examples.jsonl holds one line per example with its prompt,
// reference, generated reply, per-example metrics and the MI behaviour the
// classifier predicts for both the generated and the reference reply.
package eval
