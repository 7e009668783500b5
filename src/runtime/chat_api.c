/*
 * chat_api.c - hone_chat_apply: format a conversation with the model's own
 * chat template (tokenizer.chat_template), as the model was trained to see
 * it. A model without a template gets ChatML, llama.cpp's fallback too.
 */
#include "core/status.h"
#include "model/model.h"
#include "tokenizer/chat.h"

hone_status hone_chat_apply(const hone_model *m, const hone_chat_message *msgs, size_t n_msgs, bool add_assistant,
                            char *buf, size_t cap, size_t *n_out) {
    if (!m || (!msgs && n_msgs) || !n_out)
        return hone_err(HONE_ERR_INVALID_ARG, "hone_chat_apply: model, messages and n_out are required");
    hone_chat_kind kind = m->chat_template ? chat_detect(m->chat_template) : HONE_CHAT_CHATML;
    if (kind == HONE_CHAT_UNKNOWN)
        return hone_err(HONE_ERR_UNSUPPORTED,
                        "the model's chat template is not one hone knows (ChatML, Llama 2, Llama 3, Zephyr, Phi-3)");
    return chat_format(kind, m->chat_template, msgs, n_msgs, add_assistant, buf, cap, n_out);
}
