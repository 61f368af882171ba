// A toy tokenizer: split on whitespace, so punctuation stays attached to its word ("park.").
// Real models use subword vocabularies; one token per word keeps the pictures readable. The
// default sentence "The quick brown fox ... in the sunny park." gives 16 tokens.

export function tokenize(text: string): string[] {
  return text.split(/\s+/u).filter((t) => t !== '');
}
