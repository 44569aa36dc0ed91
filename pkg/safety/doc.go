// Package safety screens what a person writes to the counselling model for
// signs of crisis, and gates the model accordingly.
//
// # Levels
//
// Screen (one message) and ScreenConversation (the user turns of a
// conversation, with what came before each) return a Result with a Level,
// graded like the Columbia Suicide Severity Rating Scale (C-SSRS) screener,
// which orders risk as wish to be dead → active thoughts → method → intent
// → plan → recent behaviour:
//
//   - High: the writer, or someone they write about, may be in danger now
//     or soon. Active suicidal thoughts ("I want to kill myself", "I'm
//     suicidal"); a method, intent, plan, preparation, means at hand,
//     method or lethality questions ("how many pills would it take");
//     a recent or unspecified suicide attempt; self-harm that is recent,
//     ongoing or about to happen; a threat or plan to hurt someone with
//     means, a time or "I mean it"; violence happening now or threatened
//     ("he said he'll kill me"); an overdose, a poisoning or the symptoms
//     of a medical emergency. Stricter than the C-SSRS triage, which reads
//     active thoughts without a method as lower risk: a chatbot cannot ask
//     the follow-up questions a clinician would.
//   - Concern: risk that is not acute. Passive wishes ("I wish I could go
//     to sleep and not wake up", "everyone would be better off without
//     me"); active thoughts the writer says they will not act on; past,
//     resolved events ("I attempted suicide when I was 17", "I used to
//     cut"); self-harm urges; thoughts of hurting someone without a plan;
//     abuse that is ongoing or past but not a present danger; risky use of
//     medication; and someone else's suicidal thoughts or self-harm ("my
//     sister says she wants to die").
//   - None: nothing of the above, including what trips keyword lists:
//     hyperbole and idiom ("this commute is killing me", "I could murder a
//     burger"), negation ("I would never hurt myself"), clinical, academic
//     or fictional discussion, questions about the topic ("what are the
//     warning signs of suicide?"), quotations (song lyrics, "my therapist
//     asked 'do you want to die?'") and everyday sadness.
//
// # Categories and subjects
//
// Each piece of Evidence has a Category — SuicidalIdeation, SuicidePlan
// (plan, intent, method, means, preparation, attempt), SelfHarm,
// HarmToOthers, AbuseViolence (abuse or violence from someone),
// OverdoseMedical (an overdose, a poisoning, a medical emergency), and
// CrisisLanguage for a flag of the learned screen alone when no word class
// of another category stands out — and a Subject: Self (the writer) or ThirdParty (someone they write about).
// Someone else's thoughts and urges are a concern; their plans and acts in
// progress are High. Evidence gives the byte offsets and text of each
// match and the rule that matched; Result.Explanation says in one line
// which rule decided the level, and Result.Discounted lists the matches
// that did not count and why.
//
// # How it works
//
// The text is first reduced to canonical words: lower case; the subject
// informal writing drops restored ("Overdosed when I was 19" reads "I
// overdosed"); dropped g's restored ("endin"); look-alike
// characters read as letters when that gives a known word ("k!ll mys3lf",
// "kiII"); letters spelled out with spaces or dashes joined and split into
// words ("k i l l  m y s e l f"); stretched letters shortened ("diiie");
// contractions and chat forms expanded ("im", "wanna", "rn"); coded words
// decoded ("unalive", "kms", "sewerslide", "sh", "ctb"); misspellings of
// the key words corrected ("suicdal", "myslef") unless they are real
// words; invisible characters dropped; laughing emoji read as jokes.
//
// About 80 rules (rules.go) are regular expressions over the canonical
// words, each with a category, a level and flags that tell how modifiers
// apply, and about 30 more form the sensitivity layer (sensitivity.go):
// broad Concern rules for any first-person reference to one's own death or
// not existing ("I shouldn't be here", "I don't see myself making it", a
// burden, "better off without me", praying to be taken), a general
// lethality question (an inquiry, a means, an outcome: "how many of my
// pills would it take to not survive"), and warning signs of more kinds
// (finality, note-like farewells, giving things away, calm after deciding,
// a date or a place chosen, an aborted attempt, thoughts that came back,
// access to means). A match inside a longer match of the same kind yields to it
// ("want to hurt myself" is an urge, not the act "hurt myself"). Then, per
// match:
//
//   - words after it that give another sense discount it ("cutting back",
//     "dying to see", "pushed me to the point");
//   - a quotation is read by who says it: a song, film or saying does not
//     count, a question someone asked does not count unless the writer says
//     they answered yes, someone else's words are about them;
//   - a negation before it in its clause discounts it ("I would never hurt
//     myself"), unless it says the thing is over ("I haven't cut in two
//     years": a past event);
//   - joke markers ("lol", 😂), idiomatic completions and trivial conditions
//     ("if I have to sit through one more meeting") discount hyperbole,
//     unless the writer says they are serious;
//   - the subject is found from a reflexive or possessive in the match
//     ("kill herself", "her pills"), or the nearest subject before it ("my
//     sister says she ..."); general subjects ("someone", "people", "you"
//     in a question) discount it, except for method and lethality
//     questions;
//   - clinical, academic or fictional writing discounts topic words;
//   - past, resolved times lower High to Concern ("years ago", "when I was
//     a teenager", "used to"), recent ones keep it ("last night", "again");
//     an acute time raises a passive wish to High ("right now",
//     "tonight"); a denial of intent ("but I'd never act on it") lowers
//     active thoughts to Concern; a condition lowers them too ("if I fail
//     I'll kill myself").
//
// Warning signs that mean little alone — having a rope or pills, being on
// a bridge, saying goodbye, giving things away, "I'm done", a relapse —
// count when the same kind of risk (for the same person) was talked about
// earlier in the message or the conversation, or when a second sign of
// another kind, or a strong one, comes with them, or a strong one with a
// near time ("after Sunday"). A sign that names someone else is the
// writer's when only the writer is at risk ("I know where my dad keeps
// the key to the gun safe"); a farewell with an everyday reason ("because
// I'm moving") counts only with other signs; thoughts of a way or a place
// with a stated denial stay Concern. A past attempt with thoughts of dying
// now is High. In a conversation, a
// "yes" to the assistant's question about suicide or self-harm is
// evidence, and once a turn is High the conversation stays High
// (Result.Crisis).
//
// # The learned screen
//
// Next to the rules, a learned layer (Learned, DefaultLearned) reads the
// same canonical words: logistic regressions over words, word pairs,
// character 3–5-grams of the canonical text, and word classes (death and
// not existing, suicide, hopelessness, self-injury, means such as pills,
// rope, gun, bridge, heights or a blade, lethality, timing, farewells and
// finality, preparation, abuse, danger, hurting others, overdose; and
// benign contexts, jokes, sadness) with the cues around them in their
// sentence (first or third person, negation, question, past, future),
// length, and the rules' markers. Its flag head gives P(at least
// Concern), its high head P(High) (trained against non-crisis text only),
// a third head whether a flagged text is about someone else, and one head
// per labelled category which category a flagged text has. Two thresholds,
// stored in the model file, turn the probabilities into a level: they were
// chosen by 5-fold cross-validation on the training parts as the lowest
// that keep the combined screen within 3.5% High and 12% at least Concern
// on the hard negatives. It also trains on real ordinary talk
// (RealNegatives).
// The result's level is the higher of the rules' and the learned
// screen's; a learned flag's evidence is the words that pushed its score
// up most, with the category of the most probable category head, and the
// explanation gives its probability ("learned screen: p=0.83, threshold
// 0.70"). At the same level a rule's evidence explains the result. In a
// conversation it reads each user turn alone and all of them together.
// ScreenRules and ScreenConversationRules screen with the rules alone.
// The model is trained by `go generate ./pkg/safety` (internal/trainscreen),
// deterministically: a rebuild gives the same file, byte for byte.
//
// Screening is deterministic and takes well under a millisecond per
// message, long ones included (BenchmarkScreen): one pass over the text
// finds every literal word the rules need, and each rule's regular
// expression runs only on the sentences that hold a literal of each of its
// necessary parts.
//
// # The gate
//
// Gate sits in front of any Responder. High: the model is not called; the
// reply is a fixed referral (crisis line by call, text and chat, the
// emergency number, a pointer to lines elsewhere, and the lines of
// config.Safety that match the categories), with its own wording for
// someone else in danger; the conversation stays in crisis mode, and later
// turns get a short follow-up instead of the model. Concern: the model
// replies and a resource line is appended. Counts gives numbers for a
// run's metrics, never message text. The resources come from
// configs/safety.yaml; turning the gate off takes an explicit flag in
// every command, which prints GateOffWarning. Disclaimer is the project's
// one disclaimer text.
//
// # Evaluation
//
// datasets/safety holds a labelled set written for this project (no real
// user data) in parts: dev, tuned on from the start; test, holdout, ...,
// holdout23, each written before a round of tuning and measured once before
// it was tuned or trained on (datasets/safety/README.md has the numbers of
// those first measurements); train, train2, ..., train30, written to train
// the learned screen in many voices; and FreshParts (holdout24 ...
// holdout29), written last by other authors and measured once, on nothing
// of which the screen was tuned or trained. The learned screen also
// trains on real ordinary talk: the AnnoMI client turns of half of the
// transcripts (RealNegatives).
// Evaluate scores the screen against a part: precision and recall per
// level and per category, the targets, and the misses. ScanCorpus
// counts the CounselChat questions (by topic) and held-out AnnoMI client
// turns the screen flags; LoadOverview does both in one call for
// notebooks.
//
// # What it cannot do
//
// It is a screen, not an assessment, and it will miss people in danger.
// The rules know the phrasings their authors thought of: on text written
// before each round of tuning they screened 0.29 to 0.89 of High messages
// at least Concern. With the learned screen, on the fresh parts (three
// pairs, 1,195 messages by six other authors, each measured once) the
// share was 0.990 pooled (0.979 to 1.000 per pair), 0.93 were screened
// High, and 11.6% of harmless messages were flagged, 2.3% referred as High
// (1.9 to 3.1% per pair); text further from the training set will score
// lower. On real text it flags 21% of CounselChat questions (many of them
// about depression, abuse and self-harm, where Concern is fair) and 2% of
// the held-out AnnoMI client turns.
// Both miss plans and preparations in everyday words, new euphemisms,
// irony, sarcasm and context outside the conversation; it reads English
// only; it cannot tell a joke from a disguised cry for help beyond the
// markers above, nor verify what anyone says; it does not screen what the
// model writes. A High result is a reason to show crisis resources, not a
// diagnosis, and None is not a statement that someone is safe. It is no
// substitute for a human who can ask, listen and act.
package safety
