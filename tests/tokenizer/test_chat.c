/*
 * test_chat.c - chat template detection and formatting (src/tokenizer/chat.c).
 *
 * Each format is checked on the same six-turn conversation (system, user,
 * assistant, user, assistant with stray spaces, user) that llama.cpp's
 * template tests use, against the text that format defines. The default
 * model's own template must reproduce the prompt of the golden file
 * smollm2/chat-hello.json byte for byte, default system message included.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tokenizer/chat.h"

/* tokenizer.chat_template of SmolLM2-135M-Instruct (the default model). */
static const char *SMOLLM2_TEMPLATE =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\n"
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/* The same template as it looks when its newlines are Jinja escapes. */
static const char *SMOLLM2_TEMPLATE_ESCAPED =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\n"
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

static const char *HELLO_PROMPT = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by "
                                  "Hugging Face<|im_end|>\n<|im_start|>user\nHello! What can you do?<|im_end|>\n"
                                  "<|im_start|>assistant\n";

/* Shapes of real templates, enough for detection. */
static const char *CHATML_TEMPLATE = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
                                     "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if "
                                     "add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
static const char *LLAMA2_TEMPLATE = "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' "
                                     "%}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == "
                                     "'assistant' %}{{ message['content'] + eos_token}}{% endif %}{% endfor %}";
static const char *LLAMA2_SYS_BOS_TEMPLATE =
    "{%- for idx in range(0, messages|length) -%}{%- if messages[idx]['role'] == 'user' -%}{%- if idx > 1 -%}"
    "{{- bos_token + '[INST] ' + messages[idx]['content'] + ' [/INST]' -}}{%- else -%}{{- messages[idx]['content'] "
    "+ ' [/INST]' -}}{%- endif -%}{% elif messages[idx]['role'] == 'system' %}{{- '[INST] <<SYS>>\\n' + "
    "messages[idx]['content'] + '\\n<</SYS>>\\n\\n' -}}{% endif %}{% endfor %}";
static const char *LLAMA2_SYS_STRIP_TEMPLATE =
    "{% if message['role'] == 'user' %}{{ '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == "
    "'system' %}{{ '<<SYS>>\\n' + content.strip() + '\\n<</SYS>>\\n\\n' }}{% endif %}";
static const char *LLAMA3_TEMPLATE =
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
    "message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 "
    "%}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{{ "
    "'<|start_header_id|>assistant<|end_header_id|>\n\n' }}";
static const char *PHI3_TEMPLATE = "{{ bos_token }}{% for message in messages %}{{'<|' + message['role'] + '|>' + "
                                   "'\n' + message['content'] + '<|end|>\n' }}{% endfor %}{% if "
                                   "add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}";
static const char *ZEPHYR_TEMPLATE = "{% for message in messages %}{% if message['role'] == 'user' %}{{ '<|user|>\n' "
                                     "+ message['content'] + '<|endoftext|>' }}{% endif %}{% endfor %}";

static const hone_chat_message CONV[6] = {
    {"system", "You are a helpful assistant"},
    {"user", "Hello"},
    {"assistant", "Hi there"},
    {"user", "Who are you"},
    {"assistant", "   I am an assistant   "},
    {"user", "Another question"},
};

static char buf[4096];

static void expect_format(hone_chat_kind kind, const char *tmpl, const hone_chat_message *m, size_t n, bool add,
                          const char *want, const char *what) {
    size_t len = 12345;
    hone_status st = chat_format(kind, tmpl, m, n, add, buf, sizeof buf, &len);
    CHECKF(st == HONE_OK, "%s: status %d (%s)", what, st, hone_last_error());
    CHECKF(st == HONE_OK && len == strlen(want) && strcmp(buf, want) == 0, "%s:\n got  [%s]\n want [%s]", what, buf,
           want);
}

static void test_detect(void) {
    CHECK(chat_detect(SMOLLM2_TEMPLATE) == HONE_CHAT_CHATML);
    CHECK(chat_detect(CHATML_TEMPLATE) == HONE_CHAT_CHATML);
    CHECK(chat_detect(LLAMA2_TEMPLATE) == HONE_CHAT_LLAMA2);
    CHECK(chat_detect("[INST] <<SYS>>\\n{{ system }}\\n<</SYS>>") == HONE_CHAT_LLAMA2_SYS);
    CHECK(chat_detect(LLAMA2_SYS_BOS_TEMPLATE) == HONE_CHAT_LLAMA2_SYS_BOS);
    CHECK(chat_detect(LLAMA2_SYS_STRIP_TEMPLATE) == HONE_CHAT_LLAMA2_SYS_STRIP);
    CHECK(chat_detect(LLAMA3_TEMPLATE) == HONE_CHAT_LLAMA3);
    CHECK(chat_detect(PHI3_TEMPLATE) == HONE_CHAT_PHI3);
    CHECK(chat_detect(ZEPHYR_TEMPLATE) == HONE_CHAT_ZEPHYR);
    /* Formats hone does not write must not pass for ones it does. */
    CHECK(chat_detect("<|im_start|>{{ role }}<|im_sep|>") == HONE_CHAT_UNKNOWN);       /* Phi-4 */
    CHECK(chat_detect("[SYSTEM_PROMPT] x [INST] y [/INST]") == HONE_CHAT_UNKNOWN);      /* Mistral v7 */
    CHECK(chat_detect("<|user|> <|assistant|> </s>") == HONE_CHAT_UNKNOWN);            /* Falcon 3 */
    CHECK(chat_detect("<start_of_turn><|start_header_id|><|end_header_id|>") == HONE_CHAT_UNKNOWN); /* Gemma first */
    CHECK(chat_detect("{{ messages }}") == HONE_CHAT_UNKNOWN);
    CHECK(chat_detect("") == HONE_CHAT_UNKNOWN);
    CHECK(chat_detect(NULL) == HONE_CHAT_UNKNOWN);
    /* A format name is accepted as a template, as in llama.cpp. */
    CHECK(chat_detect("llama3") == HONE_CHAT_LLAMA3);

    const char *names[] = {"chatml", "llama2", "llama2-sys", "llama2-sys-bos", "llama2-sys-strip",
                           "llama3", "zephyr", "phi3"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        hone_chat_kind k = chat_kind_from_name(names[i]);
        CHECKF(k != HONE_CHAT_UNKNOWN && strcmp(chat_kind_name(k), names[i]) == 0, "name %s", names[i]);
    }
    CHECK(chat_kind_from_name("ChatML") == HONE_CHAT_UNKNOWN);
    CHECK(chat_kind_from_name(NULL) == HONE_CHAT_UNKNOWN);
    CHECK(strcmp(chat_kind_name(HONE_CHAT_UNKNOWN), "unknown") == 0);
}

static void test_formats(void) {
    expect_format(HONE_CHAT_UNKNOWN, CHATML_TEMPLATE, CONV, 6, true,
                  "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
                  "<|im_start|>assistant\nHi there<|im_end|>\n<|im_start|>user\nWho are you<|im_end|>\n"
                  "<|im_start|>assistant\n   I am an assistant   <|im_end|>\n<|im_start|>user\nAnother "
                  "question<|im_end|>\n<|im_start|>assistant\n",
                  "chatml");
    expect_format(HONE_CHAT_CHATML, NULL, CONV, 2, false,
                  "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n",
                  "chatml without assistant header");
    expect_format(HONE_CHAT_UNKNOWN, LLAMA2_TEMPLATE, CONV, 6, true,
                  "[INST] You are a helpful assistant\nHello [/INST]Hi there</s>[INST] Who are you [/INST]   I am an "
                  "assistant   </s>[INST] Another question [/INST]",
                  "llama2");
    expect_format(HONE_CHAT_LLAMA2_SYS, NULL, CONV, 6, false,
                  "[INST] <<SYS>>\nYou are a helpful assistant\n<</SYS>>\n\nHello [/INST]Hi there</s>[INST] Who are "
                  "you [/INST]   I am an assistant   </s>[INST] Another question [/INST]",
                  "llama2-sys");
    expect_format(HONE_CHAT_UNKNOWN, LLAMA2_SYS_BOS_TEMPLATE, CONV, 6, true,
                  "[INST] <<SYS>>\nYou are a helpful assistant\n<</SYS>>\n\nHello [/INST]Hi there</s><s>[INST] Who "
                  "are you [/INST]   I am an assistant   </s><s>[INST] Another question [/INST]",
                  "llama2-sys-bos");
    expect_format(HONE_CHAT_UNKNOWN, LLAMA2_SYS_STRIP_TEMPLATE, CONV, 6, true,
                  "[INST] <<SYS>>\nYou are a helpful assistant\n<</SYS>>\n\nHello [/INST]Hi there</s>[INST] Who are "
                  "you [/INST]I am an assistant</s>[INST] Another question [/INST]",
                  "llama2-sys-strip");
    expect_format(HONE_CHAT_UNKNOWN, LLAMA3_TEMPLATE, CONV, 6, true,
                  "<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant<|eot_id|>"
                  "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|><|start_header_id|>assistant<|end_header_"
                  "id|>\n\nHi there<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWho are you<|eot_id|>"
                  "<|start_header_id|>assistant<|end_header_id|>\n\nI am an assistant<|eot_id|><|start_header_id|>user<|"
                  "end_header_id|>\n\nAnother question<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
                  "llama3");
    expect_format(HONE_CHAT_LLAMA3, NULL, CONV + 1, 1, false,
                  "<|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>", "llama3 without assistant header");
    expect_format(HONE_CHAT_UNKNOWN, PHI3_TEMPLATE, CONV, 6, true,
                  "<|system|>\nYou are a helpful assistant<|end|>\n<|user|>\nHello<|end|>\n<|assistant|>\nHi "
                  "there<|end|>\n<|user|>\nWho are you<|end|>\n<|assistant|>\n   I am an assistant   <|end|>\n"
                  "<|user|>\nAnother question<|end|>\n<|assistant|>\n",
                  "phi3");
    expect_format(HONE_CHAT_UNKNOWN, ZEPHYR_TEMPLATE, CONV, 6, true,
                  "<|system|>\nYou are a helpful assistant<|endoftext|>\n<|user|>\nHello<|endoftext|>\n<|assistant|>\n"
                  "Hi there<|endoftext|>\n<|user|>\nWho are you<|endoftext|>\n<|assistant|>\n   I am an assistant   "
                  "<|endoftext|>\n<|user|>\nAnother question<|endoftext|>\n<|assistant|>\n",
                  "zephyr");
    /* An explicit kind wins over the template text. */
    expect_format(HONE_CHAT_CHATML, LLAMA3_TEMPLATE, CONV + 1, 1, true,
                  "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n", "override");
    expect_format(HONE_CHAT_CHATML, NULL, NULL, 0, true, "<|im_start|>assistant\n", "no messages");
}

/* The "prompt" string of a golden JSON file (handles the escapes json.dump writes for it). */
static char *golden_prompt(const char *rel) {
    char *json = test_read_file(test_shared_path(rel), NULL);
    if (!json) return NULL;
    char *p = strstr(json, "\"prompt\": \"");
    char *out = p ? malloc(strlen(p)) : NULL;
    size_t n = 0;
    if (out) {
        for (p += strlen("\"prompt\": \""); *p && *p != '"'; p++) {
            if (*p == '\\' && p[1]) {
                p++;
                out[n++] = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
            } else {
                out[n++] = *p;
            }
        }
        out[n] = '\0';
    }
    free(json);
    return out;
}

static void test_smollm2(void) {
    const hone_chat_message hello[1] = {{"user", "Hello! What can you do?"}};
    expect_format(HONE_CHAT_UNKNOWN, SMOLLM2_TEMPLATE, hello, 1, true, HELLO_PROMPT, "smollm2 hello");
    expect_format(HONE_CHAT_UNKNOWN, SMOLLM2_TEMPLATE_ESCAPED, hello, 1, true, HELLO_PROMPT, "smollm2 escaped");
    char *golden = golden_prompt("golden/smollm2/chat-hello.json");
    if (golden) {
        CHECKF(strcmp(golden, HELLO_PROMPT) == 0, "chat-hello.json prompt differs: [%s]", golden);
        expect_format(HONE_CHAT_UNKNOWN, SMOLLM2_TEMPLATE, hello, 1, true, golden, "smollm2 vs golden file");
        free(golden);
    }
    /* chat-recipe.json was written without the default system turn: ChatML with no template text. */
    const hone_chat_message recipe[1] = {{"user", "Give me a simple recipe for pancakes."}};
    const char *recipe_prompt =
        "<|im_start|>user\nGive me a simple recipe for pancakes.<|im_end|>\n<|im_start|>assistant\n";
    expect_format(HONE_CHAT_CHATML, NULL, recipe, 1, true, recipe_prompt, "recipe without template");
    golden = golden_prompt("golden/smollm2/chat-recipe.json");
    if (golden) {
        CHECKF(strcmp(golden, recipe_prompt) == 0, "chat-recipe.json prompt differs: [%s]", golden);
        free(golden);
    }
    /* A conversation that opens with a system turn gets no second one. */
    expect_format(HONE_CHAT_UNKNOWN, SMOLLM2_TEMPLATE, CONV, 2, true,
                  "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n"
                  "<|im_start|>assistant\n",
                  "smollm2 with own system");
    /* No messages: the clause sits inside the message loop, so nothing is inserted. */
    expect_format(HONE_CHAT_UNKNOWN, SMOLLM2_TEMPLATE, NULL, 0, true, "<|im_start|>assistant\n", "smollm2 empty");
    /* Qwen2.5's shape: "== 'system'" with the default in the else branch, after a non-literal candidate. */
    const char *qwen = "{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\\n' + "
                       "messages[0]['content'] + '<|im_end|>\\n' }}{%- else %}{{- '<|im_start|>system\\nYou are "
                       "Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}{%- endif %}";
    expect_format(HONE_CHAT_UNKNOWN, qwen, CONV + 1, 1, true,
                  "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
                  "assistant.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n",
                  "qwen default system");
    /* The clause without a literal system text inserts nothing. */
    const char *expr = "{% if messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\n' + default_system + "
                       "'<|im_end|>\\n' }}{% endif %}";
    expect_format(HONE_CHAT_UNKNOWN, expr, CONV + 1, 1, false, "<|im_start|>user\nHello<|im_end|>\n",
                  "non-literal default");
}

static void test_errors(void) {
    size_t len = 0;
    /* Size query. */
    CHECK(chat_format(HONE_CHAT_CHATML, NULL, CONV, 2, true, NULL, 0, &len) == HONE_ERR_INVALID_ARG);
    const size_t full = strlen("<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\n"
                               "Hello<|im_end|>\n<|im_start|>assistant\n");
    CHECK(len == full);
    /* No room for the NUL: refused, with a NUL-terminated prefix. */
    char small[256];
    memset(small, 'x', sizeof small);
    CHECK(chat_format(HONE_CHAT_CHATML, NULL, CONV, 2, true, small, full, &len) == HONE_ERR_INVALID_ARG);
    CHECK(len == full && strlen(small) == full - 1 && strncmp(small, "<|im_start|>system\n", 19) == 0);
    CHECK(small[full] == 'x'); /* nothing written past cap */
    CHECK(strstr(hone_last_error(), "bytes") != NULL);
    /* Exactly enough. */
    CHECK(chat_format(HONE_CHAT_CHATML, NULL, CONV, 2, true, small, full + 1, &len) == HONE_OK);
    CHECK(len == full && strlen(small) == full);
    /* Unknown template. */
    len = 7;
    CHECK(chat_format(HONE_CHAT_UNKNOWN, "{{ messages }}", CONV, 2, true, buf, sizeof buf, &len) ==
          HONE_ERR_UNSUPPORTED);
    CHECK(len == 0);
    CHECK(strstr(hone_last_error(), "not recognised") != NULL);
    CHECK(chat_format(HONE_CHAT_UNKNOWN, NULL, CONV, 2, true, buf, sizeof buf, &len) == HONE_ERR_UNSUPPORTED);
    /* Bad messages. */
    const hone_chat_message bad[1] = {{"user", NULL}};
    CHECK(chat_format(HONE_CHAT_CHATML, NULL, bad, 1, true, buf, sizeof buf, &len) == HONE_ERR_INVALID_ARG);
    CHECK(strstr(hone_last_error(), "content") != NULL);
    CHECK(chat_format(HONE_CHAT_CHATML, NULL, CONV, 1, true, buf, sizeof buf, NULL) == HONE_ERR_INVALID_ARG);
}

int main(void) {
    test_detect();
    test_formats();
    test_smollm2();
    test_errors();
    return test_finish();
}
