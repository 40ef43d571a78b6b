-- The last mile: a mail the mailer did not send because consent changed after the filter
-- forwarded it (an opt-out acknowledged before the mail reached SMTP). The reason is the
-- suppression reason, as in mail-suppressed; never a value of the mail.
ALTER TABLE mail_sends DROP CONSTRAINT mail_sends_state_check;
ALTER TABLE mail_sends ADD CONSTRAINT mail_sends_state_check
    CHECK (state IN ('sending', 'sent', 'retry', 'failed', 'suppressed_at_send'));
ALTER TABLE mail_sends ADD COLUMN suppressed_reason text;
