package data

// Roles of a chat message, as in the common {"role","content"} JSON format.
// The chat template renders RoleAssistant as Gemma's "model" turn.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Sources of conversations.
const (
	SourceCounselChat = "counselchat"
	SourceAnnoMI      = "annomi"
)

// Message is one turn of a conversation.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Labels are the expert annotations of a conversation's final (target)
// therapist turn. Empty fields are unknown or not applicable.
type Labels struct {
	TherapistBehaviour string `json:"therapist_behaviour,omitempty"` // question, reflection, therapist_input, other
	ReflectionSubtype  string `json:"reflection_subtype,omitempty"`  // simple, complex
	QuestionSubtype    string `json:"question_subtype,omitempty"`    // open, closed
	InputSubtype       string `json:"input_subtype,omitempty"`       // information, advice, negotiation, options
	ClientTalkType     string `json:"client_talk_type,omitempty"`    // of the preceding client turn: change, neutral, sustain
}

// Conversation is one training or evaluation example: user turns are the
// client, assistant turns the counsellor, and the last message is always an
// assistant turn (the target).
type Conversation struct {
	Source   string    `json:"source"`          // SourceCounselChat or SourceAnnoMI
	ID       string    `json:"id"`              // unique within the source
	Group    string    `json:"group"`           // split unit: question id or transcript id
	Messages []Message `json:"messages"`        // alternating user/assistant, ending with assistant
	Quality  string    `json:"quality"`         // AnnoMI mi_quality (high/low); empty for CounselChat
	Topic    string    `json:"topic"`           // CounselChat topic or AnnoMI topic
	Labels   Labels    `json:"labels"`          // labels of the final assistant turn (AnnoMI)
	Upvotes  int       `json:"upvotes"`         // CounselChat answer upvotes
	Split    string    `json:"split,omitempty"` // train, validation or test, once assigned (Prepare)
}

// PreferencePair is a DPO example: a prompt and two answers, the chosen one
// preferred (more upvoted) over the rejected one.
type PreferencePair struct {
	ID              string    `json:"id"`
	Group           string    `json:"group"`
	Prompt          []Message `json:"prompt"`
	Chosen          string    `json:"chosen"`
	Rejected        string    `json:"rejected"`
	ChosenUpvotes   int       `json:"chosen_upvotes"`
	RejectedUpvotes int       `json:"rejected_upvotes"`
}
