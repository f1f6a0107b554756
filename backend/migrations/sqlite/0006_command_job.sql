-- The job a gateway command is for, kept beside its payload: a command whose payload cannot
-- be read any more still names its job, so the job is failed and refunded instead of hanging.
ALTER TABLE gateway_commands ADD COLUMN job_id TEXT;
