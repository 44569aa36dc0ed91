package export

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/atomicfile"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/safety"
)

// ModelCardFileName is the model card of a merged model directory, the
// README.md that the Hugging Face hub shows for a model repository.
const ModelCardFileName = "README.md"

// ModelCard renders the model card of a merged model: Hugging Face front
// matter (base model, licence, tags), what the directory holds, the
// project's safety disclaimer (safety.Disclaimer) word for word, and what
// a runtime that loads the weights does not do: screen messages for a
// crisis. The base's own README.md is not copied: it describes another
// model.
func ModelCard(res *MergeResult) string {
	var b strings.Builder
	b.WriteString("---\n")
	fmt.Fprintf(&b, "base_model: %s\n", yamlString(res.BaseModel))
	b.WriteString("library_name: transformers\nlicense: gemma\npipeline_tag: text-generation\n")
	b.WriteString("tags:\n- gemma3n\n- lora\n- motivational-interviewing\n- counselling\n- gemma3n-therapy\n")
	b.WriteString("---\n\n")
	b.WriteString("# A counselling assistant fine-tuned on motivational-interviewing conversations\n\n")
	fmt.Fprintf(&b, "> %s\n\n", safety.Disclaimer)
	fmt.Fprintf(&b, "Gemma 3n (`%s`) with a LoRA adapter merged into its weights (W + s·B·A, as PEFT's `merge_and_unload`) by\n", res.BaseModel)
	b.WriteString("[gemma3n-therapy](https://github.com/gemma3n-therapy/gemma3n-therapy) `merge`; `merge_info.json` records the details.\n\n")
	b.WriteString("| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| architecture | %s |\n", res.Architecture)
	fmt.Fprintf(&b, "| weights | %s, %d tensors (%d merged with the adapter), %d file(s) |\n", res.DType, res.Tensors, res.MergedTensors, max(res.Shards, 1))
	fmt.Fprintf(&b, "| adapter | `%s` |\n", filepath.Base(res.Adapter))
	fmt.Fprintf(&b, "| tokenizer | %s |\n\n", res.Tokenizer)
	b.WriteString("## Safety\n\n")
	b.WriteString("The project puts a crisis screen in front of the model wherever it talks to a person (`chat`, `generate`, `eval`):\n")
	b.WriteString("a message that signals a crisis gets a fixed referral to crisis services and never reaches the model. **That screen\n")
	b.WriteString("is not part of these weights.** transformers, Ollama, llama.cpp or vLLM serving this directory answer every message\n")
	b.WriteString("with the model; put a screen in front of it (for example `gemma3n-therapy safety screen`) before anyone in need can\n")
	b.WriteString("type into it. The model can be wrong, can make things up, and is not a therapist.\n\n")
	b.WriteString("## Data and licences\n\n")
	b.WriteString("The project's pipeline fine-tunes on CounselChat (MIT; answers by counselchat.com's therapists) and AnnoMI (public\n")
	b.WriteString("domain by its authors' statement; Wu et al., ICASSP 2022); an adapter trained on other data carries that data's terms\n")
	b.WriteString("too. The weights derive from Gemma: the Gemma Terms of Use apply (https://ai.google.dev/gemma/terms).\n")
	return b.String()
}

// writeModelCard writes ModelCard(res) into dir.
func writeModelCard(dir string, res *MergeResult) error {
	return atomicfile.WriteBytes(filepath.Join(dir, ModelCardFileName), []byte(ModelCard(res)))
}

// yamlString quotes s for YAML front matter when it is not a plain scalar.
func yamlString(s string) string {
	if s != "" && !strings.ContainsAny(s, ":#{}[],&*!|>'\"%@`\n") && strings.TrimSpace(s) == s {
		return s
	}
	return fmt.Sprintf("%q", s)
}
