import type { components } from "../generated/api-types.ts";

/** A text in every locale the API speaks (`en-US` always, `zh-CN` for every text a user reads). */
export type Message = components["schemas"]["Common.Message"];

/** The locales the API negotiates with `Accept-Language`; the first is the fallback. */
export const SUPPORTED_LOCALES = ["en-US", "zh-CN"] as const;
export type Locale = (typeof SUPPORTED_LOCALES)[number];

/** Builds a message; both texts are required so no user-facing text ships in one language only. */
export function message(enUS: string, zhCN: string): Message {
  return { "en-US": enUS, "zh-CN": zhCN };
}

/** The text of `msg` in `locale`, falling back to English. For the places one string is wanted (logs, mail). */
export function textIn(msg: Message, locale: string): string {
  return msg[locale] ?? msg["en-US"];
}

/** Texts of the success envelope. */
export const OK_MESSAGE = message("OK", "成功");
