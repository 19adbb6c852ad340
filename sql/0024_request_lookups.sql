-- The two reads every console request makes before its handler: is the access token's session
-- still live, and what is the caller's role in the tenant the path names. Each takes the lookups of
-- many concurrent requests at once (server/db/coalescer.ts gathers them), and as PL/pgSQL their
-- plans are made once per connection rather than on every request. Every lookup is by key, so the
-- plans use the indexes whatever the tables held when they were made.

-- p_sessions: [{ord, id, user_id}]. Answers, by ord, whether the session is the user's and not revoked.
create or replace function live_sessions(p_sessions jsonb)
returns table (o_ord integer, o_live boolean) language plpgsql stable
set enable_seqscan = off
set enable_hashjoin = off
set enable_mergejoin = off
as $$
begin
  return query
  select r.ord, exists (select 1 from sessions s where s.id = r.id and s.user_id = r.user_id and s.revoked_at is null)
  from jsonb_to_recordset(p_sessions) as r (ord integer, id uuid, user_id uuid);
end $$;

-- p_requests: [{ord, user_id, kind: organization | team | workspace, id}]. Answers, by ord, the
-- tenant (null organization_id when the id names nothing), the user's role in the team (the
-- workspace's team for a workspace), in the organization's root team, and for an organization
-- whether the user belongs to any of its teams.
create or replace function tenant_scopes(p_requests jsonb)
returns table (
  o_ord             integer,
  o_organization_id uuid,
  o_team_id         uuid,
  o_workspace_id    uuid,
  o_team_role       text,
  o_root_role       text,
  o_is_member       boolean
) language plpgsql stable
set enable_seqscan = off
set enable_hashjoin = off
set enable_mergejoin = off
as $$
begin
  return query
  with
    req as (select * from jsonb_to_recordset(p_requests) as r (ord integer, user_id uuid, kind text, id uuid)),
    target as (
      select r.ord, r.user_id, r.kind, coalesce(w.organization_id, t.organization_id, o.id) as organization_id,
             coalesce(w.team_id, t.id) as team_id, w.id as workspace_id
      from req r
      left join workspaces w on r.kind = 'workspace' and w.id = r.id
      left join teams t on r.kind = 'team' and t.id = r.id
      left join organizations o on r.kind = 'organization' and o.id = r.id)
  select g.ord, g.organization_id, g.team_id, g.workspace_id,
    (select tm.role from team_members tm where tm.team_id = g.team_id and tm.user_id = g.user_id),
    (select tm.role from team_members tm join organizations ro on ro.root_team_id = tm.team_id
     where ro.id = g.organization_id and tm.user_id = g.user_id),
    g.kind = 'organization'
      and exists (select 1 from team_members tm where tm.organization_id = g.organization_id and tm.user_id = g.user_id)
  from target g;
end $$;
