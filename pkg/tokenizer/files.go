package tokenizer

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gemma3n-therapy/gemma3n-therapy/pkg/internal/atomicfile"
)

// Files are the files of a tokenizer in a Hugging Face model directory.
type Files struct {
	TokenizerJSON []byte // tokenizer.json
	ConfigJSON    []byte // tokenizer_config.json; nil when there is none
	// Notice, when not empty, must accompany the files (written as NOTICE):
	// the terms of the tokenizer they come from.
	Notice string
}

// DefaultFiles returns the embedded Gemma 3 tokenizer's files, uncompressed.
func DefaultFiles() (Files, error) {
	return embeddedFiles(DefaultName, defaultTokenizerJSON, defaultConfigJSON, defaultNotice)
}

// TinyFiles returns the embedded tiny tokenizer's files, uncompressed.
func TinyFiles() (Files, error) {
	return embeddedFiles(TinyName, tinyTokenizerJSON, tinyConfigJSON, tinyNotice)
}

func embeddedFiles(name string, tok, cfg []byte, notice string) (Files, error) {
	var err error
	f := Files{Notice: notice}
	if f.TokenizerJSON, err = maybeGunzip(name, tok); err != nil {
		return Files{}, err
	}
	if f.ConfigJSON, err = maybeGunzip(name, cfg); err != nil {
		return Files{}, err
	}
	return f, nil
}

// WriteDefault writes the embedded Gemma 3 tokenizer's files into dir
// (created if needed): tokenizer.json, tokenizer_config.json and NOTICE,
// uncompressed, as in a Hugging Face model directory. It needs nothing
// but the binary: the files come from the embedded bytes.
func WriteDefault(dir string) error {
	f, err := DefaultFiles()
	if err != nil {
		return err
	}
	return f.WriteDir(dir, false)
}

// WriteTiny writes the tiny tokenizer's files into dir (created if needed):
// tokenizer.json, tokenizer_config.json and NOTICE, uncompressed, as in a
// Hugging Face model directory (for a tiny model saved or merged there).
func WriteTiny(dir string) error {
	f, err := TinyFiles()
	if err != nil {
		return err
	}
	return f.WriteDir(dir, false)
}

// WriteDir writes the files into dir (created if needed) as
// tokenizer.json, tokenizer_config.json (when present) and NOTICE (when
// present); with compress the JSON files are gzip-compressed and named
// *.json.gz, which Load reads as well. Each file is written atomically.
func (f Files) WriteDir(dir string, compress bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("tokenizer: %w", err)
	}
	files := []struct {
		name string
		data []byte
		gz   bool
	}{
		{TokenizerFile, f.TokenizerJSON, compress},
		{TokenizerConfigFile, f.ConfigJSON, compress},
		{"NOTICE", []byte(f.Notice), false},
	}
	for _, file := range files {
		if len(file.data) == 0 {
			continue
		}
		name, content := file.name, file.data
		if file.gz {
			name += ".gz"
			var err error
			if content, err = gzipBytes(content); err != nil {
				return fmt.Errorf("tokenizer: compressing %s: %w", name, err)
			}
		}
		if err := atomicfile.WriteBytes(filepath.Join(dir, name), content); err != nil {
			return fmt.Errorf("tokenizer: %w", err)
		}
	}
	return nil
}

// gzipBytes compresses data with no name or time in the header, so that
// the same input gives the same file.
func gzipBytes(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
