-- The plan catalogue (seed 003's SubscriptionPlan) and the default plans of seed 000.
-- Prices are integer minor units of `currency`; quotas use seed 000's keys, -1 meaning unlimited.
-- A plan that has subscribers is never edited in place: a new row is made and the old one archived.

create table if not exists subscription_plans (
  id            uuid primary key,
  name          text not null unique check (name ~ '^[a-z0-9][a-z0-9-]{0,63}$'),
  tier          text not null check (tier in ('free', 'starter', 'pro', 'enterprise')),
  type          text not null check (type in ('trial', 'standard', 'custom')),
  billing_cycle text not null check (billing_cycle in ('monthly', 'yearly', 'lifetime')),
  price_minor   bigint not null check (price_minor >= 0),
  currency      char(3) not null check (currency ~ '^[A-Z]{3}$'),
  trial_days    integer not null default 0 check (trial_days >= 0),
  display_name  jsonb not null check (display_name ? 'en-US'),
  description   jsonb not null check (description ? 'en-US'),
  features      jsonb not null default '[]'::jsonb check (jsonb_typeof(features) = 'array'),
  quotas        jsonb not null check (jsonb_typeof(quotas) = 'object'),
  status        text not null default 'active' check (status in ('active', 'archived')),
  sort_order    integer not null,
  created_at    timestamptz not null default now(),
  updated_at    timestamptz not null default now()
);

-- The catalogue's order and its keyset cursor.
create index if not exists subscription_plans_catalogue_idx on subscription_plans (sort_order, id);

insert into subscription_plans
  (id, name, tier, type, billing_cycle, price_minor, currency, trial_days,
   display_name, description, features, quotas, sort_order)
values
  ('0190b6a0-0000-7000-8000-000000000001', 'free-monthly', 'free', 'standard', 'monthly', 0, 'USD', 0,
   '{"en-US": "Free (monthly)", "zh-CN": "免费版（月付）"}'::jsonb,
   '{"en-US": "Try the platform with small monthly quotas.", "zh-CN": "以较小的月度配额体验平台。"}'::jsonb,
   '[{"featureKey": "workflows", "featureName": {"en-US": "Workflows", "zh-CN": "工作流"}, "enabled": true, "limit": 5}, {"featureKey": "knowledge_bases", "featureName": {"en-US": "Knowledge bases", "zh-CN": "知识库"}, "enabled": true, "limit": 2}, {"featureKey": "custom_plugins", "featureName": {"en-US": "Custom plugins", "zh-CN": "自定义插件"}, "enabled": false, "limit": null}, {"featureKey": "priority_support", "featureName": {"en-US": "Priority support", "zh-CN": "优先支持"}, "enabled": false, "limit": null}]'::jsonb,
   '{"api_calls_per_month": 1000, "tokens_per_month": 100000, "messages_per_month": 500, "storage_gb": 1, "team_members": 3, "workflows": 5, "datasets": 2, "custom_plugins": false}'::jsonb,
   10),
  ('0190b6a0-0000-7000-8000-000000000002', 'starter-monthly', 'starter', 'standard', 'monthly', 2900, 'USD', 0,
   '{"en-US": "Starter (monthly)", "zh-CN": "入门版（月付）"}'::jsonb,
   '{"en-US": "For small teams shipping their first LLM apps.", "zh-CN": "适合发布首批 LLM 应用的小团队。"}'::jsonb,
   '[{"featureKey": "workflows", "featureName": {"en-US": "Workflows", "zh-CN": "工作流"}, "enabled": true, "limit": 20}, {"featureKey": "knowledge_bases", "featureName": {"en-US": "Knowledge bases", "zh-CN": "知识库"}, "enabled": true, "limit": 10}, {"featureKey": "custom_plugins", "featureName": {"en-US": "Custom plugins", "zh-CN": "自定义插件"}, "enabled": false, "limit": null}, {"featureKey": "priority_support", "featureName": {"en-US": "Priority support", "zh-CN": "优先支持"}, "enabled": false, "limit": null}]'::jsonb,
   '{"api_calls_per_month": 10000, "tokens_per_month": 1000000, "messages_per_month": 5000, "storage_gb": 10, "team_members": 5, "workflows": 20, "datasets": 10, "custom_plugins": false}'::jsonb,
   20),
  ('0190b6a0-0000-7000-8000-000000000003', 'starter-yearly', 'starter', 'standard', 'yearly', 29000, 'USD', 0,
   '{"en-US": "Starter (yearly)", "zh-CN": "入门版（年付）"}'::jsonb,
   '{"en-US": "For small teams shipping their first LLM apps.", "zh-CN": "适合发布首批 LLM 应用的小团队。"}'::jsonb,
   '[{"featureKey": "workflows", "featureName": {"en-US": "Workflows", "zh-CN": "工作流"}, "enabled": true, "limit": 20}, {"featureKey": "knowledge_bases", "featureName": {"en-US": "Knowledge bases", "zh-CN": "知识库"}, "enabled": true, "limit": 10}, {"featureKey": "custom_plugins", "featureName": {"en-US": "Custom plugins", "zh-CN": "自定义插件"}, "enabled": false, "limit": null}, {"featureKey": "priority_support", "featureName": {"en-US": "Priority support", "zh-CN": "优先支持"}, "enabled": false, "limit": null}]'::jsonb,
   '{"api_calls_per_month": 10000, "tokens_per_month": 1000000, "messages_per_month": 5000, "storage_gb": 10, "team_members": 5, "workflows": 20, "datasets": 10, "custom_plugins": false}'::jsonb,
   30),
  ('0190b6a0-0000-7000-8000-000000000004', 'pro-monthly', 'pro', 'standard', 'monthly', 9900, 'USD', 14,
   '{"en-US": "Pro (monthly)", "zh-CN": "专业版（月付）"}'::jsonb,
   '{"en-US": "For growing teams: larger quotas and custom plugins.", "zh-CN": "适合成长中的团队：更大的配额与自定义插件。"}'::jsonb,
   '[{"featureKey": "workflows", "featureName": {"en-US": "Workflows", "zh-CN": "工作流"}, "enabled": true, "limit": 100}, {"featureKey": "knowledge_bases", "featureName": {"en-US": "Knowledge bases", "zh-CN": "知识库"}, "enabled": true, "limit": 50}, {"featureKey": "custom_plugins", "featureName": {"en-US": "Custom plugins", "zh-CN": "自定义插件"}, "enabled": true, "limit": null}, {"featureKey": "priority_support", "featureName": {"en-US": "Priority support", "zh-CN": "优先支持"}, "enabled": true, "limit": null}]'::jsonb,
   '{"api_calls_per_month": 100000, "tokens_per_month": 10000000, "messages_per_month": 50000, "storage_gb": 50, "team_members": 20, "workflows": 100, "datasets": 50, "custom_plugins": true}'::jsonb,
   40),
  ('0190b6a0-0000-7000-8000-000000000005', 'pro-yearly', 'pro', 'standard', 'yearly', 99000, 'USD', 14,
   '{"en-US": "Pro (yearly)", "zh-CN": "专业版（年付）"}'::jsonb,
   '{"en-US": "For growing teams: larger quotas and custom plugins.", "zh-CN": "适合成长中的团队：更大的配额与自定义插件。"}'::jsonb,
   '[{"featureKey": "workflows", "featureName": {"en-US": "Workflows", "zh-CN": "工作流"}, "enabled": true, "limit": 100}, {"featureKey": "knowledge_bases", "featureName": {"en-US": "Knowledge bases", "zh-CN": "知识库"}, "enabled": true, "limit": 50}, {"featureKey": "custom_plugins", "featureName": {"en-US": "Custom plugins", "zh-CN": "自定义插件"}, "enabled": true, "limit": null}, {"featureKey": "priority_support", "featureName": {"en-US": "Priority support", "zh-CN": "优先支持"}, "enabled": true, "limit": null}]'::jsonb,
   '{"api_calls_per_month": 100000, "tokens_per_month": 10000000, "messages_per_month": 50000, "storage_gb": 50, "team_members": 20, "workflows": 100, "datasets": 50, "custom_plugins": true}'::jsonb,
   50),
  ('0190b6a0-0000-7000-8000-000000000006', 'enterprise-monthly', 'enterprise', 'standard', 'monthly', 99900, 'USD', 0,
   '{"en-US": "Enterprise (monthly)", "zh-CN": "企业版（月付）"}'::jsonb,
   '{"en-US": "Unlimited calls, tokens and members for large organizations.", "zh-CN": "为大型组织提供不限量的调用、Token 与成员。"}'::jsonb,
   '[{"featureKey": "workflows", "featureName": {"en-US": "Workflows", "zh-CN": "工作流"}, "enabled": true, "limit": null}, {"featureKey": "knowledge_bases", "featureName": {"en-US": "Knowledge bases", "zh-CN": "知识库"}, "enabled": true, "limit": null}, {"featureKey": "custom_plugins", "featureName": {"en-US": "Custom plugins", "zh-CN": "自定义插件"}, "enabled": true, "limit": null}, {"featureKey": "priority_support", "featureName": {"en-US": "Priority support", "zh-CN": "优先支持"}, "enabled": true, "limit": null}]'::jsonb,
   '{"api_calls_per_month": -1, "tokens_per_month": -1, "messages_per_month": -1, "storage_gb": 500, "team_members": -1, "workflows": -1, "datasets": -1, "custom_plugins": true}'::jsonb,
   60),
  ('0190b6a0-0000-7000-8000-000000000007', 'enterprise-yearly', 'enterprise', 'standard', 'yearly', 999000, 'USD', 0,
   '{"en-US": "Enterprise (yearly)", "zh-CN": "企业版（年付）"}'::jsonb,
   '{"en-US": "Unlimited calls, tokens and members for large organizations.", "zh-CN": "为大型组织提供不限量的调用、Token 与成员。"}'::jsonb,
   '[{"featureKey": "workflows", "featureName": {"en-US": "Workflows", "zh-CN": "工作流"}, "enabled": true, "limit": null}, {"featureKey": "knowledge_bases", "featureName": {"en-US": "Knowledge bases", "zh-CN": "知识库"}, "enabled": true, "limit": null}, {"featureKey": "custom_plugins", "featureName": {"en-US": "Custom plugins", "zh-CN": "自定义插件"}, "enabled": true, "limit": null}, {"featureKey": "priority_support", "featureName": {"en-US": "Priority support", "zh-CN": "优先支持"}, "enabled": true, "limit": null}]'::jsonb,
   '{"api_calls_per_month": -1, "tokens_per_month": -1, "messages_per_month": -1, "storage_gb": 500, "team_members": -1, "workflows": -1, "datasets": -1, "custom_plugins": true}'::jsonb,
   70)
on conflict (id) do nothing;
