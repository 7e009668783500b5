/*
 * chat.c - chat template detection and formatting (see chat.h).
 *
 * Detection mirrors the substring tests and their order in llama.cpp's
 * llm_chat_detect_template; formats hone does not write are still detected
 * (and reported unknown) so that their markers cannot make them look like a
 * format hone does write. Output goes through a small appender that counts
 * the full length even past the caller's buffer, so one pass both writes and
 * sizes the prompt.
 */
#include "tokenizer/chat.h"

#include <string.h>

#include "core/status.h"

static const struct {
    const char *name;
    hone_chat_kind kind;
} kind_names[] = {
    {"chatml", HONE_CHAT_CHATML},
    {"llama2", HONE_CHAT_LLAMA2},
    {"llama2-sys", HONE_CHAT_LLAMA2_SYS},
    {"llama2-sys-bos", HONE_CHAT_LLAMA2_SYS_BOS},
    {"llama2-sys-strip", HONE_CHAT_LLAMA2_SYS_STRIP},
    {"llama3", HONE_CHAT_LLAMA3},
    {"zephyr", HONE_CHAT_ZEPHYR},
    {"phi3", HONE_CHAT_PHI3},
};

hone_chat_kind chat_kind_from_name(const char *name) {
    if (!name) return HONE_CHAT_UNKNOWN;
    for (size_t i = 0; i < sizeof kind_names / sizeof kind_names[0]; i++)
        if (strcmp(name, kind_names[i].name) == 0) return kind_names[i].kind;
    return HONE_CHAT_UNKNOWN;
}

const char *chat_kind_name(hone_chat_kind kind) {
    for (size_t i = 0; i < sizeof kind_names / sizeof kind_names[0]; i++)
        if (kind_names[i].kind == kind) return kind_names[i].name;
    return "unknown";
}

static bool has(const char *t, const char *s) { return strstr(t, s) != NULL; }

hone_chat_kind chat_detect(const char *t) {
    if (!t) return HONE_CHAT_UNKNOWN;
    hone_chat_kind named = chat_kind_from_name(t);
    if (named != HONE_CHAT_UNKNOWN) return named;

    if (has(t, "<|im_start|>")) return has(t, "<|im_sep|>") ? HONE_CHAT_UNKNOWN /* Phi-4 */ : HONE_CHAT_CHATML;
    if (strncmp(t, "mistral", 7) == 0 || has(t, "[INST]")) {
        if (has(t, "[SYSTEM_PROMPT]") || has(t, "' [INST] ' + system_message") || has(t, "[AVAILABLE_TOOLS]"))
            return HONE_CHAT_UNKNOWN; /* Mistral v1/v3/v7 */
        if (has(t, "content.strip()")) return HONE_CHAT_LLAMA2_SYS_STRIP;
        if (has(t, "bos_token + '[INST]")) return HONE_CHAT_LLAMA2_SYS_BOS;
        if (has(t, "<<SYS>>")) return HONE_CHAT_LLAMA2_SYS;
        return HONE_CHAT_LLAMA2;
    }
    if (has(t, "<|assistant|>") && has(t, "<|end|>")) return HONE_CHAT_PHI3;
    if (has(t, "<|assistant|>") && has(t, "<|user|>")) return HONE_CHAT_UNKNOWN; /* Falcon 3, GLM-Edge */
    if (has(t, "<|user|>") && has(t, "<|endoftext|>")) return HONE_CHAT_ZEPHYR;
    /* Formats llama.cpp tests before Llama 3 (Monarch, Gemma, Orion, OpenChat,
     * Vicuna, DeepSeek, Command-R): not written by hone. */
    if (has(t, "bos_token + message['role']") || has(t, "<start_of_turn>") ||
        has(t, "'\\n\\nAssistant: ' + eos_token") || has(t, "GPT4 Correct ") ||
        (has(t, "USER: ") && has(t, "ASSISTANT: ")) || (has(t, "### Instruction:") && has(t, "<|EOT|>")) ||
        (has(t, "<|START_OF_TURN_TOKEN|>") && has(t, "<|USER_TOKEN|>")))
        return HONE_CHAT_UNKNOWN;
    if (has(t, "<|start_header_id|>") && has(t, "<|end_header_id|>")) return HONE_CHAT_LLAMA3;
    return HONE_CHAT_UNKNOWN;
}

/* ---- output ------------------------------------------------------------ */

typedef struct {
    char *buf;
    size_t cap; /* including the NUL */
    size_t len; /* full length, may exceed cap */
} out;

static void put_n(out *o, const char *s, size_t n) {
    if (o->cap > 0 && o->len < o->cap - 1) {
        size_t room = o->cap - 1 - o->len;
        memcpy(o->buf + o->len, s, n < room ? n : room);
    }
    o->len += n;
}

static void put(out *o, const char *s) { put_n(o, s, strlen(s)); }

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

static void put_trimmed(out *o, const char *s) {
    size_t a = 0, b = strlen(s);
    while (a < b && is_space(s[a])) a++;
    while (b > a && is_space(s[b - 1])) b--;
    put_n(o, s + a, b - a);
}

/* ---- default system message (ChatML) ----------------------------------- */

/*
 * Find the literal text between "<|im_start|>system\n" and "<|im_end|>" of a
 * template that inserts a default system turn. The "\n" may be a real newline
 * or a Jinja escape. A candidate that is not plain literal text (a quote that
 * closes the string, a Jinja delimiter) is an expression such as
 * "' + messages[0]['content'] + '" and is skipped.
 */
static bool default_system(const char *t, const char **text, size_t *len) {
    if (!t) return false;
    if (!has(t, "messages[0]['role'] != 'system'") && !has(t, "messages[0][\"role\"] != \"system\"") &&
        !has(t, "messages[0]['role'] == 'system'") && !has(t, "messages[0][\"role\"] == \"system\""))
        return false;
    static const char *const heads[] = {"<|im_start|>system\n", "<|im_start|>system\\n"};
    for (size_t h = 0; h < 2; h++) {
        for (const char *p = strstr(t, heads[h]); p; p = strstr(p + 1, heads[h])) {
            const char *s = p + strlen(heads[h]);
            const char *e = strstr(s, "<|im_end|>");
            if (!e) break;
            bool plain = e > s;
            for (const char *q = s; q < e && plain; q++) {
                if (*q == '\\') {
                    q++; /* an escaped character is literal */
                    continue;
                }
                if (*q == '\'' || *q == '"' || *q == '{' || *q == '}') plain = false;
            }
            if (plain) {
                *text = s;
                *len = (size_t)(e - s);
                return true;
            }
        }
    }
    return false;
}

/* Write a Jinja string-literal body, undoing its backslash escapes. */
static void put_unescaped(out *o, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\' && i + 1 < n) {
            char e = s[++i];
            c = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
        }
        put_n(o, &c, 1);
    }
}

/* ---- formats ----------------------------------------------------------- */

static void chatml(out *o, const char *tmpl, const hone_chat_message *m, size_t n, bool add_assistant) {
    const char *sys;
    size_t sys_len;
    if (n > 0 && strcmp(m[0].role, "system") != 0 && default_system(tmpl, &sys, &sys_len)) {
        put(o, "<|im_start|>system\n");
        put_unescaped(o, sys, sys_len);
        put(o, "<|im_end|>\n");
    }
    for (size_t i = 0; i < n; i++) {
        put(o, "<|im_start|>");
        put(o, m[i].role);
        put(o, "\n");
        put(o, m[i].content);
        put(o, "<|im_end|>\n");
    }
    if (add_assistant) put(o, "<|im_start|>assistant\n");
}

static void put_content(out *o, const char *s, bool strip) {
    if (strip)
        put_trimmed(o, s);
    else
        put(o, s);
}

static void llama2(out *o, hone_chat_kind kind, const hone_chat_message *m, size_t n) {
    const bool sys_markers = kind != HONE_CHAT_LLAMA2;
    const bool bos_inside = kind == HONE_CHAT_LLAMA2_SYS_BOS;
    const bool strip = kind == HONE_CHAT_LLAMA2_SYS_STRIP;
    bool in_turn = true; /* the first [INST] is written here; BOS comes from the tokenizer */
    put(o, "[INST] ");
    for (size_t i = 0; i < n; i++) {
        if (!in_turn) {
            put(o, bos_inside ? "<s>[INST] " : "[INST] ");
            in_turn = true;
        }
        const char *role = m[i].role;
        if (strcmp(role, "system") == 0) {
            put(o, sys_markers ? "<<SYS>>\n" : "");
            put_content(o, m[i].content, strip);
            put(o, sys_markers ? "\n<</SYS>>\n\n" : "\n");
        } else if (strcmp(role, "user") == 0) {
            put_content(o, m[i].content, strip);
            put(o, " [/INST]");
        } else {
            put_content(o, m[i].content, strip);
            put(o, "</s>");
            in_turn = false;
        }
    }
}

static void llama3(out *o, const hone_chat_message *m, size_t n, bool add_assistant) {
    for (size_t i = 0; i < n; i++) {
        put(o, "<|start_header_id|>");
        put(o, m[i].role);
        put(o, "<|end_header_id|>\n\n");
        put_trimmed(o, m[i].content);
        put(o, "<|eot_id|>");
    }
    if (add_assistant) put(o, "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

/* Zephyr and Phi-3 differ only in the end-of-turn marker. */
static void role_tags(out *o, const char *eot, const hone_chat_message *m, size_t n, bool add_assistant) {
    for (size_t i = 0; i < n; i++) {
        put(o, "<|");
        put(o, m[i].role);
        put(o, "|>\n");
        put(o, m[i].content);
        put(o, eot);
        put(o, "\n");
    }
    if (add_assistant) put(o, "<|assistant|>\n");
}

hone_status chat_format(hone_chat_kind kind, const char *jinja_template, const hone_chat_message *msgs, size_t n,
                        bool add_assistant, char *buf, size_t cap, size_t *n_out) {
    if (n_out) *n_out = 0;
    if (!n_out) return hone_err(HONE_ERR_INVALID_ARG, "chat_format: n_out is NULL");
    if (cap > 0 && !buf) return hone_err(HONE_ERR_INVALID_ARG, "chat_format: buf is NULL but cap is %zu", cap);
    if (n > 0 && !msgs) return hone_err(HONE_ERR_INVALID_ARG, "chat_format: %zu messages but msgs is NULL", n);
    for (size_t i = 0; i < n; i++)
        if (!msgs[i].role || !msgs[i].content)
            return hone_err(HONE_ERR_INVALID_ARG, "chat_format: message %zu has a NULL %s", i,
                            msgs[i].role ? "content" : "role");
    if (kind == HONE_CHAT_UNKNOWN) kind = chat_detect(jinja_template);

    out o = {buf, cap, 0};
    switch (kind) {
    case HONE_CHAT_CHATML: chatml(&o, jinja_template, msgs, n, add_assistant); break;
    case HONE_CHAT_LLAMA2:
    case HONE_CHAT_LLAMA2_SYS:
    case HONE_CHAT_LLAMA2_SYS_BOS:
    case HONE_CHAT_LLAMA2_SYS_STRIP: llama2(&o, kind, msgs, n); break;
    case HONE_CHAT_LLAMA3: llama3(&o, msgs, n, add_assistant); break;
    case HONE_CHAT_ZEPHYR: role_tags(&o, "<|endoftext|>", msgs, n, add_assistant); break;
    case HONE_CHAT_PHI3: role_tags(&o, "<|end|>", msgs, n, add_assistant); break;
    default: {
        size_t tl = jinja_template ? strlen(jinja_template) : 0;
        return hone_err(HONE_ERR_UNSUPPORTED,
                        "chat template not recognised (%s%.60s%s); supported: chatml, llama2, llama2-sys, "
                        "llama2-sys-bos, llama2-sys-strip, llama3, zephyr, phi3",
                        jinja_template ? "starts \"" : "none given", jinja_template ? jinja_template : "",
                        tl > 60 ? "...\"" : (jinja_template ? "\"" : ""));
    }
    }
    if (cap > 0) buf[o.len < cap ? o.len : cap - 1] = '\0';
    *n_out = o.len;
    if (o.len >= cap)
        return hone_err(HONE_ERR_INVALID_ARG, "chat_format: prompt needs %zu bytes + NUL, buffer holds %zu", o.len,
                        cap);
    return HONE_OK;
}
