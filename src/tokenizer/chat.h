/*
 * chat.h - chat templates: a list of messages -> the prompt text a model was
 * trained on.
 *
 * GGUF files carry their template as Jinja source (tokenizer.chat_template).
 * hone does not run Jinja: like llama.cpp's built-in formatter it recognises
 * the well-known formats by distinctive substrings and writes them with C
 * code. Detection follows llama.cpp's rules and order (its facts, our code),
 * so a template llama.cpp files under a format hone lacks (Phi-4, Mistral,
 * Gemma, ...) is reported as unknown rather than misread as a similar one.
 *
 * Formats (name for chat_kind_from_name in brackets):
 *   ChatML [chatml]     <|im_start|>ROLE\nCONTENT<|im_end|>\n ...; add_assistant
 *                       appends <|im_start|>assistant\n
 *   Llama 2 [llama2, llama2-sys, llama2-sys-bos, llama2-sys-strip]
 *                       [INST] <<SYS>>\nSYS\n<</SYS>>\n\nUSER [/INST]ASSISTANT</s>[INST] ...
 *                       (without <<SYS>> support the system text is written
 *                       plainly followed by \n; -bos writes <s>[INST] for later
 *                       turns; -strip trims whitespace around contents). The
 *                       prompt always ends after [/INST], so add_assistant has
 *                       no effect.
 *   Llama 3 [llama3]    <|start_header_id|>ROLE<|end_header_id|>\n\nCONTENT<|eot_id|> ...
 *                       (contents trimmed); add_assistant appends the assistant header.
 *   Zephyr [zephyr]     <|ROLE|>\nCONTENT<|endoftext|>\n; add_assistant: <|assistant|>\n
 *   Phi-3 [phi3]        <|ROLE|>\nCONTENT<|end|>\n; add_assistant: <|assistant|>\n
 *
 * No format writes BOS (<s>, <|begin_of_text|>): as in llama.cpp, the
 * tokenizer adds BOS when the model's metadata asks for it, so writing it
 * here too would double it.
 *
 * Default system message (ChatML only): some templates insert a system turn
 * when the conversation does not start with one - SmolLM2's "You are a
 * helpful AI assistant named SmolLM, trained by Hugging Face", Qwen2.5's "You
 * are Qwen, ...". When the template text tests messages[0]['role'] against
 * 'system' (!= or ==) and contains a plain string literal
 * "<|im_start|>system\n...<|im_end|>", chat_format inserts that text as the
 * first turn whenever the first message is not a system message. Without
 * template text (NULL) nothing is inserted, which is what llama.cpp's own
 * built-in ChatML formatter does.
 */
#ifndef HONE_TOKENIZER_CHAT_H
#define HONE_TOKENIZER_CHAT_H

#include <stdbool.h>
#include <stddef.h>

#include "hone.h"

typedef enum {
    HONE_CHAT_UNKNOWN = 0,
    HONE_CHAT_CHATML,
    HONE_CHAT_LLAMA2,           /* no system-prompt markers */
    HONE_CHAT_LLAMA2_SYS,       /* <<SYS>> ... <</SYS>> */
    HONE_CHAT_LLAMA2_SYS_BOS,   /* and <s> before each later [INST] */
    HONE_CHAT_LLAMA2_SYS_STRIP, /* and contents trimmed */
    HONE_CHAT_LLAMA3,
    HONE_CHAT_ZEPHYR,
    HONE_CHAT_PHI3
} hone_chat_kind;

/* Format from tokenizer.chat_template text (a format name is accepted too,
 * as llama.cpp does); NULL or unrecognised -> HONE_CHAT_UNKNOWN. */
hone_chat_kind chat_detect(const char *jinja_template);

/* Format for a --chat-template override ("chatml", "llama2", "llama3", ...);
 * NULL or unknown name -> HONE_CHAT_UNKNOWN. */
hone_chat_kind chat_kind_from_name(const char *name);

/* The name chat_kind_from_name accepts for kind ("unknown" for UNKNOWN). */
const char *chat_kind_name(hone_chat_kind kind);

/*
 * Write the prompt for msgs[0..n) in format `kind` (HONE_CHAT_UNKNOWN: detect
 * it from jinja_template). jinja_template may be NULL; it is also where the
 * default system message comes from (see above). add_assistant: end with the
 * header of an assistant turn, so the model writes the reply.
 *
 * Output: NUL-terminated text in buf; *n_out receives its full length
 * (without the NUL) even when it does not fit, in which case
 * HONE_ERR_INVALID_ARG is returned and buf holds a NUL-terminated prefix
 * (buf may be NULL when cap is 0, to ask for the size). A format that is not
 * known gives HONE_ERR_UNSUPPORTED; a message with a NULL role or content
 * gives HONE_ERR_INVALID_ARG.
 */
hone_status chat_format(hone_chat_kind kind, const char *jinja_template, const hone_chat_message *msgs, size_t n,
                        bool add_assistant, char *buf, size_t cap, size_t *n_out);

#endif
