package gemma3n

import (
	"fmt"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:staticcheck
)

// AltUp keeps n copies ("streams") of the residual stream. In the graph they
// are stacked as [B, T, n, D] so that predict and correct are batched
// products; streamsToHF converts to HF's [n, B, T, D] for outputs.

// altUpMagnitudeFloor is the floor on the mean square in the AltUp
// magnitude matching (HF ≥ mid-2025: sqrt(max(mean², 1e-5))).
const altUpMagnitudeFloor = 1e-5

// matchMagnitude rescales p to the RMS target (float32, per token):
// p · target / sqrt(max(mean(p²), 1e-5)), in HF's order. It computes in
// float32 (HF reduces with float32 accumulation too; SimpleGo would
// accumulate bfloat16 reductions in bfloat16) and returns p's dtype.
func matchMagnitude(p, target *Node) *Node {
	p32 := ConvertDType(p, dtypes.Float32)
	meanSq := ReduceAndKeep(Square(p32), ReduceMean, -1)
	mag := Sqrt(MaxScalar(meanSq, altUpMagnitudeFloor))
	return ConvertDType(Div(Mul(p32, target), mag), p.DType())
}

// initStreams builds the n AltUp streams from the scaled embedding e
// (spec §3.3): stream 0 is e, stream k is Lin(e; altup_projections[k−1])
// rescaled to the RMS of e.
//
//	altup_projections.{0..n−2}.weight [D, D]
func (f *forward) initStreams(e *Node) *Node {
	target := rms(e)
	streams := []*Node{e}
	for k := 1; k < f.cfg.AltUpNumInputs; k++ {
		p := f.linear(fmt.Sprintf("altup_projections.%d", k-1), e)
		streams = append(streams, matchMagnitude(p, target))
	}
	return Stack(streams, 2)
}

// finalMerge maps streams 1..n−1 back with altup_unembed_projections,
// matches their magnitude to stream 0, averages the n streams and applies
// the final norm (spec §3.8). Returns [B, T, D].
//
//	altup_unembed_projections.{0..n−2}.weight [D, D]
//	norm.weight [D]
func (f *forward) finalMerge(streams *Node) *Node {
	n := f.cfg.AltUpNumInputs
	s0 := f.selectStream(streams, 0)
	target := rms(s0)
	sum := s0
	for k := 1; k < n; k++ {
		q := f.linear(fmt.Sprintf("altup_unembed_projections.%d", k-1), f.selectStream(streams, k))
		sum = Add(sum, matchMagnitude(q, target))
	}
	return f.norm("norm", DivScalar(sum, float64(n)))
}

// selectStream returns stream k [B, T, D] of streams [B, T, n, D].
func (f *forward) selectStream(streams *Node, k int) *Node {
	return Squeeze(SliceAxis(streams, 2, AxisElem(k)), 2)
}

// streamsToHF converts [B, T, n, D] to HF's hidden-state layout [n, B, T, D].
func streamsToHF(streams *Node) *Node {
	return TransposeAllAxes(streams, 2, 0, 1, 3)
}

// router computes the AltUp modalities of x [B, T, D] (spec §3.5):
// tanh(Lin(RMS_{router_norm}(x) · 1/D; modality_router)), the tanh in float32.
// Returns [B, T, n] in x's dtype.
//
//	layers.{l}.altup.router_norm.weight     [D]
//	layers.{l}.altup.modality_router.weight [n, D]
func (f *forward) router(prefix string, x *Node) *Node {
	y := f.norm(prefix+"router_norm", x)
	y = MulScalar(y, 1/float64(f.cfg.HiddenSize))
	y = f.linear(prefix+"modality_router", y)
	return ConvertDType(Tanh(ConvertDType(y, dtypes.Float32)), x.DType())
}

// altUpPredict returns the predicted streams (spec §3.5):
// Pred[i] = S[i] + Σ_j C[i][j]·S[j], C = Lin(router(S[0]); prediction_coefs)
// reshaped [n, n] per token.
//
//	layers.{l}.altup.prediction_coefs.weight [n², n]
func (f *forward) altUpPredict(prefix string, streams *Node) *Node {
	n := f.cfg.AltUpNumInputs
	mod := f.router(prefix, f.selectStream(streams, 0))
	coefs := Reshape(f.linear(prefix+"prediction_coefs", mod), f.batch, f.seq, n, n)
	return Add(einsum("btij,btjd->btid", coefs, streams), streams)
}

// altUpCorrect corrects every predicted stream with the innovation of the
// active one (spec §3.5): Cor[i] = Pred[i] + (Lin(router(h); correction_coefs)[i] + 1)·(h − Pred[0]).
//
//	layers.{l}.altup.correction_coefs.weight [n, n]
func (f *forward) altUpCorrect(prefix string, pred, activated *Node) *Node {
	mod := f.router(prefix, activated)
	innovation := Sub(activated, f.selectStream(pred, 0))             // [B,T,D]
	coefs := AddScalar(f.linear(prefix+"correction_coefs", mod), 1.0) // [B,T,n]
	// The outer product as a batched DotGeneral: its gradients accumulate in
	// float32, unlike a broadcast multiply's reduce-sum in bfloat16.
	return Add(einsum("btn,btd->btnd", coefs, innovation), pred)
}
