// Package sft is supervised fine-tuning of Gemma 3n with LoRA adapters, end
// to end: one call, Run, that the command `gemma3n-therapy train sft` and the
// notebooks share.
//
// Run glues the project's packages together in one direction:
//
//	config (YAML + overrides + --debug)
//	  → model (a preset such as "tiny", a directory, or a Hugging Face repo id via hub)
//	  → tokenizer (the checkpoint's tokenizer.json, else an embedded one: tiny or Gemma 3)
//	  → conversations (CounselChat, AnnoMI, both, or a JSONL file; train and validation splits)
//	  → chat examples (Gemma template, loss masks, length policy)
//	  → LoRA adapter (new, or continued from a PEFT adapter directory)
//	  → train (bucketed batches, AdamW, schedule, clipping, accumulation,
//	    evaluation, checkpoints, exact resume)
//	  → run directory
//
// A run directory holds:
//
//	config.yaml             the resolved configuration (defaults, files, overrides, debug)
//	data_summary.json       conversations, examples and tokens per source and split
//	run.json                what the run trains from (model architecture, initial adapter, data
//	                        summary) and one entry per resume (package runcheck)
//	metrics.jsonl           one JSON object per logged step and per evaluation (package train)
//	checkpoints/            step-NNNNNNNN/ and best.json (package train; --resume continues from them)
//	adapter/                the final adapter, PEFT layout (adapter_config.json + adapter_model.safetensors)
//	best_adapter/           the adapter of the best evaluation, PEFT layout (when there was an evaluation)
//	summary.json            steps, tokens, losses, wall time, throughput, graph compilations
//
// The adapter directories load with PEFT (PeftModel.from_pretrained) and with
// lora.Load, and are the input of a following phase (Options.InitAdapter).
//
// A notebook cell and the command are the same call:
//
//	res, err := sft.Run(ctx, sft.Options{
//		ConfigOptions: stage.ConfigOptions{
//			ConfigPath: "configs", Model: "tiny", Debug: true,
//			Overrides: []string{"training.learning_rate=1e-4"},
//		},
//		Data: "annomi", Out: "runs/annomi",
//		Reporting: train.Reporting{
//			OnStep: func(m train.StepMetrics) { /* redraw the loss curve */ },
//		},
//	})
//
// Evaluation uses the validation split of each source (one eval set per
// source; the first, CounselChat before AnnoMI, selects the best adapter).
// AnnoMI windows are trained on their final counsellor turn only.
//
// # Full-parameter training
//
// With Options.Full (the command `train full`) the same run trains every
// weight of the model instead of an adapter: float32 master weights, AdamW
// with weight decay on matrices only (MatricesOnlyDecay), the same
// schedule, evaluation, checkpoints (every weight and its moments) and
// exact resume; the run directory then holds model/ and best_model/, whole
// model directories in Hugging Face layout (gemma3n.Load reads them, with
// the tokenizer files beside the weights) instead of adapter/ and
// best_adapter/. Options.FromScratch starts from random weights of the
// named architecture. Language-model pretraining is Data DataCorpus (the
// training splits, AnnoMI as whole sessions) with LossOn LossOnAll (every
// token is a target); make pretrain builds the embedded default model, the
// preset mini, that way (package pretrain ships it).
//
// # Resuming
//
// Options.Resume continues the newest checkpoint of Out, and only the run
// that Out records: a configuration that differs from its config.yaml, or
// a model, initial adapter or data that differs from its run.json, is an
// error naming each differing key, returned before anything is written;
// so is a resume of a directory without a checkpoint. The few settings
// that may change (package runcheck's Mutable: max_steps, the logging,
// evaluation and saving frequencies, the backend) are recorded in
// run.json's "resumes"; config.yaml stays as the run started.
//
// HeldOutLoss measures any model's next-token loss on the assistant tokens
// of the held-out splits, as the evaluations of a run do.
package sft
