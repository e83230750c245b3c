/**
 * People never reach the model. Before a message is kept or sent, every way of naming a
 * person (platform mentions, `@name`, the sender's own id typed as text) becomes a token
 * `⟦user:<pseudonym>⟧`, where the pseudonym is a tenant-scoped HMAC of the user id; emails
 * become ⟦email⟧ and channel/role/group ids a neutral word. Right before sending, tokens
 * become per-request labels ("user A" is always the requester), so the same person keeps
 * one label across a thread and the labels mean nothing outside the request.
 */
import type { Platform } from '../core/types.ts';

export { createPseudonym } from '../../workers/contract/pseudonym.ts';

export class LabelBook {
  private readonly labels = new Map<string, string>();

  label(pseudonym: string): string {
    let l = this.labels.get(pseudonym);
    if (!l) {
      const n = this.labels.size;
      l = `user ${n < 26 ? String.fromCharCode(65 + n) : `#${n + 1}`}`;
      this.labels.set(pseudonym, l);
    }
    return l;
  }
}

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;

const USER_TOKEN = /⟦user:([A-Za-z0-9_-]{1,64})⟧/g;
export const userToken = (pseudonym: string) => `⟦user:${pseudonym}⟧`;

/**
 * Replaces every way a person or platform object can be named in chat text. `tokenFor`
 * takes a full user id (`slack:U0123`) and returns what stands for it.
 */
export function pseudonymizeText(text: string, platform: Platform, tokenFor: (userId: string) => string, knownIds: string[] = []): string {
  let out = text
    .replace(EMAIL, '⟦email⟧')
    .replace(/<@([UW][A-Z0-9]+)(?:\|[^>]*)?>/g, (_m, id: string) => tokenFor(`slack:${id}`))
    .replace(/<@!?(\d+)>/g, (_m, id: string) => tokenFor(`discord:${id}`))
    .replace(/<@&\d+>/g, 'a role')
    .replace(/<#[A-Z0-9]+(?:\|[^>]*)?>|<#\d+>/g, 'a channel')
    .replace(/<!subteam\^[A-Z0-9]+(?:\|[^>]*)?>/g, 'a group')
    .replace(/(^|[\s(,])@([A-Za-z0-9][A-Za-z0-9._-]{0,63})/g, (m, pre: string, name: string) => (name.toLowerCase() === 'hoist' ? m : `${pre}${tokenFor(`${platform}:${name}`)}`));
  // A bare platform id typed as text (not a mention) is still an identifier.
  for (const full of knownIds) {
    const bare = full.slice(full.indexOf(':') + 1);
    if (bare.length < 3) continue;
    const re = new RegExp(`\\b(?:${full.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}|${bare.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')})\\b`, 'g');
    // Only outside the tokens already placed, so an id never matches inside a pseudonym.
    out = out.split(/(⟦[^⟧]*⟧)/).map((seg, i) => (i % 2 ? seg : seg.replace(re, tokenFor(full)))).join('');
  }
  return out;
}

/** Tokens → per-request labels. */
export function labelTokens(text: string, book: LabelBook): string {
  return text.replace(USER_TOKEN, (_m, p: string) => book.label(p));
}
