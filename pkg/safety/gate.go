package safety

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/config"
	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/data"
)

// Disclaimer is shown wherever the model talks to a person: the chat
// banner, the README, the model card and the Ollama Modelfile.
const Disclaimer = "This assistant is for research and education only. It is not a substitute for " +
	"professional care and cannot help in a crisis. If you are in danger or thinking about ending your life, " +
	"call your local emergency services; in the US, call or text 988 (Suicide & Crisis Lifeline) or call 911."

// GateOffWarning is printed on standard error by every command run with
// the gate turned off.
const GateOffWarning = "warning: the safety gate is off (--no-safety-gate): messages that signal a crisis reach " +
	"the model, and its replies go out without crisis resources. Do not use this setting with real people."

// Responder produces the model's reply to a conversation (the last message
// is the user's turn).
type Responder func(ctx context.Context, messages []data.Message) (string, error)

// Action is what the gate does with a turn.
type Action string

// Actions of the gate.
const (
	// Respond: nothing found; the model replies as it is.
	Respond Action = "respond"
	// RespondWithResources: a concern; the model replies and the resource
	// line is appended.
	RespondWithResources Action = "respond_with_resources"
	// Refer: high risk; the model is not called and the reply is the fixed
	// referral (or, in a conversation already in crisis mode, the crisis
	// follow-up).
	Refer Action = "refer"
	// Ungated: the gate is off; the model replies as it is whatever the
	// screen found.
	Ungated Action = "ungated"
)

// Decision is the gate's verdict on a conversation before the model is
// called.
type Decision struct {
	Screen Result `json:"screen"`
	Action Action `json:"action"`
	// Referral is the reply when Action is Refer.
	Referral string `json:"referral,omitempty"`
	// Resources is the line appended to the model's reply when Action is
	// RespondWithResources.
	Resources string `json:"resources,omitempty"`
}

// CallModel reports whether the model may be called.
func (d Decision) CallModel() bool { return d.Action != Refer }

// Finish returns the reply the person sees: the referral when the model
// is not called, otherwise the model's reply with the resource line, if
// any.
func (d Decision) Finish(modelReply string) string {
	switch {
	case d.Action == Refer:
		return d.Referral
	case d.Resources != "":
		return joinReply(modelReply, d.Resources)
	}
	return modelReply
}

func joinReply(reply, line string) string {
	if reply == "" {
		return line
	}
	return reply + "\n\n" + line
}

// Counts are what a gate did, for a run's metrics: numbers only, never
// message text.
type Counts struct {
	GateOn bool `json:"gate_on"`
	// Checked is the number of conversations (turns) checked.
	Checked int `json:"checked"`
	// Levels counts the screened level of each checked conversation.
	None    int `json:"none"`
	Concern int `json:"concern"`
	High    int `json:"high"`
	// Referrals counts turns answered with the fixed referral (the model
	// not called); CrisisFollowUps those of them that were in crisis mode
	// from an earlier turn.
	Referrals       int `json:"referrals"`
	CrisisFollowUps int `json:"crisis_follow_ups"`
	// ResourceLines counts model replies with the resource line appended.
	ResourceLines int `json:"resource_lines"`
	// ThirdParty counts flagged conversations about someone else.
	ThirdParty int `json:"third_party"`
	// ByCategory counts flagged conversations per category.
	ByCategory map[string]int `json:"by_category"`
}

// Gate sits in front of a model: it screens each conversation before the
// model is called, refers high-risk turns to crisis services without
// calling the model, and appends crisis resources to replies to turns of
// concern. It is safe for concurrent use.
type Gate struct {
	res config.Safety
	off bool

	mu     sync.Mutex
	counts Counts
}

// NewGate returns a gate showing the given resources (config.Safety,
// usually configs/safety.yaml). With off, the gate screens and counts but
// never acts: callers must print GateOffWarning.
func NewGate(res config.Safety, off bool) (*Gate, error) {
	if err := res.Validate(); err != nil {
		return nil, fmt.Errorf("safety resources: %w", err)
	}
	if !slices.Equal(config.SafetyCategories, categoryNames()) {
		return nil, errors.New("safety: config.SafetyCategories and safety.Categories differ")
	}
	if _, err := DefaultLearned(); err != nil {
		return nil, fmt.Errorf("%w: %v", errNoLearned, err)
	}
	return &Gate{res: res, off: off, counts: Counts{GateOn: !off, ByCategory: map[string]int{}}}, nil
}

func categoryNames() []string {
	out := make([]string, len(Categories))
	for i, c := range Categories {
		out[i] = string(c)
	}
	return out
}

// Off reports whether the gate is turned off.
func (g *Gate) Off() bool { return g.off }

// Check screens a conversation (its last message should be the user's
// turn) and decides what to do, counting the decision.
func (g *Gate) Check(messages []data.Message) Decision {
	res := ScreenConversation(messages)
	d := Decision{Screen: res}
	switch {
	case g.off:
		d.Action = Ungated
	case res.Level == High && res.Crisis:
		d.Action, d.Referral = Refer, g.crisisFollowUp(res)
	case res.Level == High:
		d.Action, d.Referral = Refer, g.referral(res)
	case res.Level == Concern:
		d.Action, d.Resources = RespondWithResources, g.resourceLine(res)
	default:
		d.Action = Respond
	}
	g.count(d)
	return d
}

func (g *Gate) count(d Decision) {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := &g.counts
	c.Checked++
	switch d.Screen.Level {
	case None:
		c.None++
	case Concern:
		c.Concern++
	case High:
		c.High++
	}
	if d.Action == Refer {
		c.Referrals++
		if d.Screen.Crisis {
			c.CrisisFollowUps++
		}
	}
	if d.Action == RespondWithResources {
		c.ResourceLines++
	}
	if d.Screen.Level > None {
		if d.Screen.Subject == ThirdParty {
			c.ThirdParty++
		}
		for _, cat := range d.Screen.Categories {
			c.ByCategory[string(cat)]++
		}
	}
}

// Counts returns a copy of what the gate has done so far.
func (g *Gate) Counts() Counts {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.counts
	c.ByCategory = make(map[string]int, len(g.counts.ByCategory))
	for k, v := range g.counts.ByCategory {
		c.ByCategory[k] = v
	}
	return c
}

// Turn is one answered turn.
type Turn struct {
	Decision
	// Reply is what the person sees.
	Reply string `json:"reply"`
	// ModelReply is the model's own reply ("" when it was not called);
	// Reply is ModelReply plus Decision.Resources when the line applies.
	ModelReply  string `json:"model_reply,omitempty"`
	ModelCalled bool   `json:"model_called"`
}

// Reply answers the conversation through the gate: the responder is called
// only when the decision allows it.
func (g *Gate) Reply(ctx context.Context, messages []data.Message, respond Responder) (Turn, error) {
	d := g.Check(messages)
	t := Turn{Decision: d}
	if !d.CallModel() {
		t.Reply = d.Finish("")
		return t, nil
	}
	reply, err := respond(ctx, messages)
	if err != nil {
		return t, err
	}
	t.ModelCalled, t.ModelReply, t.Reply = true, reply, d.Finish(reply)
	return t, nil
}
