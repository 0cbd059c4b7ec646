/*
 * posture.c - the gateway's state through a store.  It must stay thin:
 * parsing and rendering belong to state.c, transactions and SQL to the
 * store; this file only says which of them a backend uses.
 */
#include "core/gateway/posture.h"

#include <errno.h>
#include <stdlib.h>

int
gw_posture_load(gw_store *s, unsigned mode, gw_state **out, gw_err *err)
{
	if (gw_store_kind_of(s) == GW_STORE_FILES)
		return gw_state_load(gw_store_dir(s), mode, out, err);
	gw_buf text = GW_BUF_INIT;
	int rc = gw_store_posture_read(s, &text, err);
	if (rc == 0 || rc == -ENOENT)
		rc = gw_state_load_text(gw_store_posture_label(s), rc == 0 ? gw_buf_cstr(&text) : NULL,
		    text.len, mode, out, err);
	if (rc == 0)
		gw_state_use_store(*out, s);
	gw_buf_free(&text);
	return rc;
}

int
gw_posture_save(gw_store *s, gw_state *st, gw_err *err)
{
	if (gw_store_kind_of(s) == GW_STORE_FILES)
		return gw_state_save(st, err);
	/* the records the posture counts first, in the same transaction */
	int rc = gw_state_save_records(st, err);
	if (rc != 0)
		return rc;
	gw_buf text = GW_BUF_INIT;
	gw_state_render_posture(st, &text);
	rc = gw_store_posture_write(s, text.data, text.len, err);
	gw_buf_free(&text);
	return rc;
}

int
gw_posture_events_summary(gw_store *s, gw_events_summary *out, gw_err *err)
{
	if (gw_store_kind_of(s) == GW_STORE_FILES)
		return gw_events_summarize(gw_store_events_label(s), out, err);
	bool present = false;
	gw_events_summarizer *z = gw_events_summarizer_new(out);
	int rc = gw_store_events_each(s, gw_events_summarizer_line, z, &present, err);
	gw_events_summarizer_finish(z, present);
	if (rc != 0)
		gw_events_summary_free(out);
	return rc;
}
