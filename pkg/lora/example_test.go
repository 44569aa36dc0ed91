package lora_test

import (
	"fmt"
	"log"

	"github.com/gomlx/compute/dtypes"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/gemma3n"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/testutil"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/lora"
)

// New adapters on the attention projections of a model; the warning says
// which dead K/V projections of KV-shared layers were skipped.
func ExampleNew() {
	model, err := gemma3n.Load(testutil.TinyModel(), dtypes.Float32)
	if err != nil {
		log.Fatal(err)
	}
	adapter, err := lora.New(model, lora.Config{R: 4, Alpha: 8, TargetModules: lora.DefaultTargetModules})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(adapter.NumTrainable(), "trainable parameters in", len(adapter.Modules()), "modules")
	for _, w := range adapter.Warnings() {
		fmt.Println("warning:", w)
	}
	// Output:
	// 9216 trainable parameters in 20 modules
	// warning: skipped 4 K/V projection(s) of KV-shared layers (the forward pass never uses them): layers.4.self_attn.k_proj, layers.4.self_attn.v_proj, layers.5.self_attn.k_proj, layers.5.self_attn.v_proj
}

// Load a PEFT adapter directory onto a model (what --adapter DIR does).
func ExampleLoad() {
	model, err := gemma3n.Load(testutil.TinyModel(), dtypes.Float32)
	if err != nil {
		log.Fatal(err)
	}
	adapter, err := lora.Load(model, testutil.TinyAdapter())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(adapter.Layout)
	fmt.Println(adapter.Summary())
	// Output:
	// causal-lm (model.layers.N)
	// trainable params: 9,216 || all params: 358,608 || trainable%: 2.5699
}
