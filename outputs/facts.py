"""The facts of a story: what a brief's takes argue from, each with the words or links it came from.

- kind: what sort of news (release, research, benchmark, funding, policy, incident, business, opinion,
  fiction), from cue words in the title and text and from the section the newsletter filed it under
  (a newsletter's own sections — "Research", "Funding", "Policy" — are its editors' classification);
- artifacts a builder can use, from the links first (a huggingface.co model is weights, github.com code,
  arxiv.org a paper) and from the text, where "without releasing the weights" does not count;
- the licence (an SPDX-like name and what it permits), the price, and the access (open, waitlist, beta);
- figures with what they measure ("$141M" raised, "40%" faster), and whether a claim is the maker's own
  ("the company says") or measured by someone else ("independent", "researchers found");
- the subject and actor come from the cluster (`pipeline.terms`: the archive's own statistics).

Measured against hand labels in bench/eval_facts.py.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence
from urllib.parse import urlparse

import numpy as np

from . import signals as sig
from .headline import raiser, speaker_of

KINDS = ("release", "research", "benchmark", "funding", "policy", "incident", "business", "opinion")
ARTIFACTS = ("weights", "code", "paper", "api", "dataset", "demo")

# an explainer's headline: "How LangChain calculates OpenAI pricing", "How a transformer works"
HOW_IT_WORKS = r"how (?:[\w.-]+ ){1,3}(?:works?|calculates?|handles?|counts?)"
# a verdict on something that exists: "Gen-2 shows the limitations of ...", "The rise and fall of ..."
VERDICT = (r"(?:shows?|reveals?|exposes?|highlights?|demonstrates?|hits?|finds?) (?:the |its |their )?"
           r"(?:limitations|limits|shortcomings|flaws)|rise and fall|falls? short|the (?:trouble|problem) with|"
           r"what'?s wrong with|hands[- ]on with|(?:i|we) (?:tried|tested)|(?:more|fewer) mistakes")
# cue words per kind; title hits count double
KIND_CUES: dict[str, str] = {
    "incident": r"outage|breach\w*|leak(?:ed|s)?|vulnerabilit\w*|exploit\w*|jailbr\w+|hack(?:ed|ers?)|scam\w*|"
                r"incident|recall\w*|exposed|compromised|went down|misuse\w*|deepfakes?|"
                r"backlash|controvers\w+|crash\w*|kill(?:ed|s)|wrongful\w*|arrest\w*|fraud\w*|harm(?:ed|s|ful)?",
    "policy": r"regulat\w+|legislat\w+|(?<!scaling )(?<!power )(?<!physical )laws?|bill|act|eu|european commission|government\w*|ministr\w+|"
              r"compliance|polic(?:y|ies)|proposals?|senate|congress|executive order|ban(?:s|ned|ning)?|lawsuits?|sued|sues|suing|"
              r"court|judge|copyright|ftc|fda|white house|parliament|lawmakers|military|pentagon|police|"
              r"privacy|gdpr|standards? body|attorneys?|federal|ruling|licens(?:e|ing) regime|criminal\w*|"
              r"offen[cs]es?|outlaw\w*|illegal|prohibit\w*|penalt(?:y|ies)|suspension order|watchdogs?|"
              r"data protection (?:authorit\w+|agency|regulator)",
    # "raises $12.5M": the verb and the amount are two cues
    "funding": r"rais(?:es|ed|ing) (?:a |an |seed|series)|rais(?:es|ed|ing)(?= [$€£])|funding|series [a-e]|"
               r"seed round|valuation|"
               r"valued at|investors?|invest(?:s|ed|ment)|led by|acquir\w+|acquisition|buys|bought|merger|"
               r"\$\d[\d.,]*\s*(?:million|billion|m|bn|b)\b",
    "benchmark": r"benchmarks?|leaderboard|outperform\w*|state[- ]of[- ]the[- ]art|sota|evaluat\w+|"
                 # "rivals GPT-4" measures against a name; "a ChatGPT rival" is a competitor, not a result
                 r"scor(?:e|es|ed|ing)|beats?|rival(?:s|led|ing)?(?= (?:the |those of |that of )?(?-i:[A-Z0-9]))|"
                 r"replicat(?:ed|es|ing|ions?)|replicate (?:the|their|its|results?)|"
                 r"compar(?:ed|ison|es|ing)|tested|head[- ]to[- ]head",
    "release": r"releas\w+|launch\w*|open[- ]weights?|open[- ]sourc\w+|now available|available (?:today|now)|"
               r"ships?|shipped|unveil\w*|introduc(?:es|ed|ing|e)|announc\w+|debuts?|rolls? out|rolling out|new (?:tool|app|"
               r"feature|model|version|api|plugin|extension)|beta|try it|sign up|waitlist|chrome extension|"
               r"plugin|app that|tool that|tool to|lets you|helps you|allows you|generate[sd]? (?:your|images|"
               r"videos|code)",
    "research": r"paper|researchers?|study|studies|scientists?|propos(?:e|es|ed) (?:a|an) (?:new |novel )?"
                r"(?:method|technique|approach|model|framework|architecture|algorithm)|arxiv|preprint|experiments?|we find|"
                r"method|university|universit\w+|technique|approach|dataset|trained a|findings|discover\w*",
    "business": r"partner\w*|deal|hires?|hired|hiring|ceo|resign\w*|steps? down|fired|layoffs?|lays off|revenue|"
                r"customers?|strategy|market|shares?|stock|profit\w*|sales|employees|workers|jobs|startups?|"
                r"compan(?:y|ies)|enterprise|adopt\w*|uses? ai|using ai|teams up|signs?|contract|"
                # a company putting AI to work, not software shipped ("build and deploy an entire app")
                r"deploy\w*(?! (?:it|an?|the|your|their|its)? ?(?:entire |whole |new )?(?:apps?|websites?|sites?|code|"
                r"containers?|servers?)\b)",
    "opinion": r"opinion|essay|manifesto|interview|podcast|explain\w*|explainer|how to|how-to|guide|tutorial|lessons?|primer|"
               rf"{HOW_IT_WORKS}|behind the scenes|"
               r"(?:illustrated |gentle )?introduction to|"
               r"why (?:we|you|i|the|ai)|should|thoughts?|op-ed|column|analysis|debate|argu\w+|predictions?|predicts? that|"
               r"forecast\w*|future of|will ai|is ai|the case for|the case against|"
               # "What is ...", "Here's what you need to know"; not "makes software do what you tell it"
               r"(?<!\bdo )(?<!\bdoes )what (?:is|are|we|you)|here['’]s what|"
               r"survey|poll|think|believes?|warns?|says|view|perspective|reflections?|conversation|talks? about|"
               rf"{VERDICT}",
}
_KIND_RE = {k: re.compile(rf"(?<!\w)(?:{v})\b", re.IGNORECASE) for k, v in KIND_CUES.items()}  # (?<!\w): "for $230M"
# a newsletter's section names, by the words they use ("Research", "Funding roundup", "Analysis & Policy")
SECTION_CUES: dict[str, str] = {
    "research": r"research|papers?|science|advances",
    "funding": r"funding|raises|deals",
    "policy": r"policy|regulation|law|government",
    "business": r"business|industry|companies",
    "opinion": r"opinions?|analysis|explainers?|learn|how-to|resources|essays?|overviews?|discussions?|"
               r"expert|worries|panic|hype",
    "release": r"tools?|demos?|launches|products?|releases|picks",
    "incident": r"incidents?|concerns?",
}
_SECTION_RE = {k: re.compile(rf"\b(?:{v})\b", re.IGNORECASE) for k, v in SECTION_CUES.items()}
_BINDING = re.compile(r"\b(?:laws?|act|bill|regulat\w+|rules?|ruling|court|judge|lawsuits?|sued|sues|ban(?:s|ned)?|"
                      r"fine[sd]?|complian\w+|legislat\w+|executive order|directive|licens\w+|registry|mandat\w+)\b",
                      re.IGNORECASE)
_DECIDED = re.compile(r"\b(?:rul(?:ed|ing)|judge|court (?:ordered|found|sided)|fined|banned|bans|convicted|"
                      r"passed|signed into law|signs? (?:a |the )?(?:\w+ )?bill|signed (?:a |the )?(?:\w+ )?bill|"
                      r"enacted|settled|blocked|struck down|upheld|declined to hear|dismiss(?:ed|es)|threw out|"
                      r"throws out)\b", re.IGNORECASE)
_PROGRAMME = re.compile(r"\b(?:program(?:me)?s?|initiatives?|grants?|funds?|funding|allocat\w+|invest\w*|contracts?|procure\w*|"
                        r"task force|strateg\w+|plans?|cent(?:re|er)s?|institutes?|deploy\w*|pilots?|budget)\b",
                        re.IGNORECASE)
# ... in the text, only money said so: "deployed across the public sector" is no programme, a grant is
_PROGRAMME_MONEY = re.compile(r"\b(?:grants?|funding|funds?|funded|allocat\w+|contracts?|procure\w*|budget|"
                              r"invest(?:s|ed|ing|ment)?\s+"
                              r"(?:about |around |nearly |over |more than )?[$€£]\d)", re.IGNORECASE)
# a headline that says a bill became law ("Governor signs bill banning..."): decided, though it names a bill
_ENACTED = re.compile(r"\b(?:signs?|signed) (?:a |the )?(?:\w+ )?bill|\bsigned into law|\benact(?:s|ed)\b", re.I)
# a lawsuit the headline says was filed ("OpenAI Sued for Libel ...", "Getty Images is suing Stability AI")
_LAWSUIT = re.compile(r"\b(?:sue[sd]?|suing|lawsuits?|class[- ]actions?|files? (?:a )?(?:suit|complaint)|"
                      r"legal action|litigation)\b", re.IGNORECASE)
_PENDING = re.compile(r"\b(?:propos\w+|draft|consult\w+|plans? to|considering|weighing|could|would|bill)\b",
                      re.IGNORECASE)
# money coming in: a raise, a round, a backer ("Gleamer raises $29.5M", "Surge backs Gan.ai in $5.2M funding");
# money a company spends or saves ("ByteDance has gobbled up $1B of GPUs", "could save $80b") is no raise
_RAISED = re.compile(r"\b(?:rais(?:e|es|ed|ing)|secur(?:e|es|ed|ing)|lands?|landed|nabs|bags|snags|closes|closed|gets|got|"
                     r"receiv(?:es|ed)|seeks?|seeking|announces) (?:a |an |another |fresh |new )?(?:[$€£]|\d|(?:pre-)?seed|"
                     r"series|funding|cash\b|capital\b)|[$€£]\s?[\d.,]+\s?(?:[mb]n?|million|billion|k)?\s+(?:in )?(?:new |fresh |seed |"
                     r"series [a-e] )?(?:funding|investment|round)\b|funding round|seed round|series [a-e]\b|valuation|"
                     r"valued at|\bbacks\b|\bbacked by|\bled by|\bround in\b|stealth with [$€£]|investment (?:in|from)|"
                     r"invests? (?:[$€£]\S+ )?in (?:(?-i:[A-Z])|(?:[\w-]+ ){0,3}(?:start-?up|company|firm))", re.IGNORECASE)


def raised_money(text: str) -> bool:
    """The text tells of money coming in (a raise, a round, a backer)."""
    return bool(_RAISED.search(text))


# an incident where a system broke or was broken into (or used to break into others: fraud, phishing), not a
# controversy over what AI did or was used for
# a headline saying a product or project ends: news for whoever runs it, whatever else the story announces
_SHUTDOWN = re.compile(r"\b(?:wind(?:s|ing)? down|wound down|shut(?:s|ting)? down|shutter(?:s|ed|ing)?|"
                       r"discontinu(?:es|ed|ing)|sunset(?:s|ting|ted)|end(?:s|ing)? support for|deprecat(?:es|ed|ing)|"
                       r"kill(?:s|ed|ing)? off|pull(?:s|ed|ing)? the plug on|clos(?:es|ed|ing) down)\b", re.IGNORECASE)
_PART_OF = re.compile(r"(?:\s+\S+){0,4}?\s+(?:offices?|divisions?|units?|teams?|branch(?:es)?|operations|departments?|"
                      r"campaigns?|labs?|facilit(?:y|ies)|plants?|jobs)\b", re.IGNORECASE)
_FAILURE = re.compile(r"\b(?:outages?|breach\w*|leak(?:ed|s)?|vulnerabilit\w*|exploit\w*|jailbr\w+|hack(?:ed|ers?)|"
                      r"bugs?|glitch\w*|crash\w*|went down|goes down|down for|compromised|exposed|recall\w*|malfunction\w*|"
                      r"failed|fails|failure|broke|broken|error\w*|data loss|security flaw|prompt injection|"
                      r"cyber-?attack\w*|phishing|malware|ransomware|fraud\w*|scam\w*|attackers?)\b",
                      re.IGNORECASE)
# an incident where AI was used to harm people ("swaps women into porn videos", "voice clone used in a scam"):
# harm done with a tool, not a debate about what people will accept
_ABUSE = re.compile(r"\b(?:non-?consensual\w*|porn\w*|nudes?|nudify\w*|undress\w*|sexual(?:ly)?|sextort\w*|"
                    r"harass\w*|stalk\w*|impersonat\w*|extort\w*|blackmail\w*|bully\w*|abus(?:e|es|ed|ive)|"
                    r"csam|child (?:sexual|abuse)|revenge porn|swaps? (?:women|people|faces?)|scams?|scammers?|"
                    r"defraud\w*|voice[- ]clon\w* (?:scam|fraud))\b", re.IGNORECASE)
# a policy headline about what the state itself does with AI: the police's or the military's use, not a rule for
# products ("Met police to begin using live facial recognition", "Nuke-launching AI would be illegal under ...")
_STATE_USE = (("the police", re.compile(r"\b(?:police|policing|law enforcement|cops|sheriffs?)\b", re.I)),
              ("the military", re.compile(r"\b(?:military|militaries|pentagon|army|navy|air force|armed forces|"
                                          r"defen[cs]e (?:department|ministry|forces)|dod|darpa|battle\w*|warfare|"
                                          r"weapons?|nuclear|nukes?|nuke-\w+|soldiers?|troops|war)\b", re.I)))
# a company's, a platform's or an event's own rule ("Getty Images bans AI-generated content", "ChatGPT banned on
# Chinese social media app WeChat", "Top AI conference bans use of ChatGPT"): it binds those who use that service,
# not everyone; a state's ("Italy bans", "German court bans", "NYC schools ban") is a rule of another kind
_HOUSE_BANS = re.compile(r"^\s*(?P<who>[^.:;!?]{2,60}?)\s+(?:temporarily |now |quietly |officially |also )?(?:bans|blocks|"
                         r"restricts|prohibits|forbids|outlaws)\b", re.I)
_BANNED_ON = re.compile(r"\b(?:banned|blocked|prohibited|barred)\s+(?:on|from|by)\s+(?P<rest>[^.,;:!?]{2,80})", re.I)
_STATE_WORDS = re.compile(r"\b(?:government|govt|court|judge|regulators?|ministry|minister|parliament|congress|senate|"
                          r"senators?|commission|council|officials|lawmakers?|law|laws|bill|act|state|states|city|county|"
                          r"police|agency|authority|watchdog|fda|ftc|sec|eu|un|us|u\.s\.?|uk|white house|governor|mayor|"
                          r"president|department|schools?|district|province|nation|country|countries|federal|"
                          r"legislat\w+)\b", re.I)


# a document signed or published as a stand, not a product: "Statement on AI risk - ...", "Open letter: ..."
_DOCUMENT = re.compile(r"^\W*(?:the |an? )?(?:open |joint |public )?(statement|letter|petition|pledge|declaration|"
                       r"manifesto|memo|charter)\b(?! (?:from|by) )", re.I)
# the piece says it is a tutorial: "this tutorial takes us through", "a short tutorial", "step-by-step guide"
_TUTORIAL = re.compile(r"\b(?:this|short|quick|video|step[- ]by[- ]step|great|handy|excellent) (?:tutorial|walk-?through|"
                       r"guide)\b|\btutorial (?:takes|walks|shows|teaches)\b", re.I)


# what a person does who wants a rule, not one who makes it
_CALLS = re.compile(r"\b(?:says|said|calls? for|urges|warns|argues|wants|believes|thinks)\b", re.I)


def house_rule(title: str) -> str:
    """Whose own rule a policy headline tells of, where a company, a platform or an event bans something for its
    own users ("Getty Images", "WeChat", "Top AI conference"); "" where a state, a court or a law does."""
    m = _HOUSE_BANS.match(title)
    who = m.group("who").strip() if m else ""
    if not who:
        after = _BANNED_ON.search(title)
        runs = re.findall(r"[A-Z][\w.&'’-]*(?: [A-Z][\w.&'’-]*)*", after.group("rest")) if after else []
        who = runs[-1] if runs else ""
    if not who or _STATE_WORDS.search(who) or len(who.split()) > 6:
        return ""
    if who.split()[-1].islower() and not re.search(r"['’]s\b", who):  # "Top AI conference": a description
        who = f"the {who[:1].lower()}{who[1:]}"
    tail = re.search(r"(?:^|\s)[a-z][\w-]*\s+((?:[A-Z][\w.&'’-]*\s?)+)$", who)
    if tail:  # "AI image generator Midjourney": the name after its description
        who = tail.group(1).strip()
    words = [re.sub(r"['’]s$", "", w) for w in who.split()]
    if sig.not_a_subject(who) or (len(words) <= 2 and all(sig.not_a_subject(w) or w.islower() for w in words)):
        return ""  # "Italy", "China": a state
    return who


# an event announced, to attend or apply to ("Hugging Face is putting on a live event", "Apply for Replit's first
# machine learning hackathon"), not a report of one that happened ("Top 10 projects from the AGI House hackathon")
_EVENT = re.compile(r"\b(?:hackathons?|live event|livestream|live stream|webinars?|workshops?|summits?|"
                    r"conferences?|office hours|fireside chat|demo day|meetups?|bootcamps?|courses?)\b", re.I)
_EVENT_AHEAD = re.compile(r"\b(?:apply|applications? (?:are )?open|register|registration|sign up|join|rsvp|"
                          r"starts?|starting|kicks? off|is (?:running|hosting|putting on|holding|organi[sz]ing)|"
                          r"(?:will|to) (?:host|hold|run)|hosts?|upcoming|today|tonight|tomorrow|this (?:week|weekend)|"
                          r"next (?:week|month)|is announced|announc\w+|(?:on|from) (?:jan|feb|mar|apr|may|jun|jul|aug|"
                          r"sep|oct|nov|dec)\w*\.? \d)\b", re.I)
_EVENT_PAST = re.compile(r"\b(?:what (?:i|we) (?:saw|learned)|projects from|won|winners?|recap|highlights from|"
                         r"compilation|takeaways|lessons from)\b", re.I)
# housekeeping, not news
NOTICE = re.compile(r"\b(meetup|subscribe|share this|sponsor\w*|giveaway|prize|webinar|housekeeping|"
                     r"unsubscribe|referral|we are hiring|reader survey|first \d+ (?:people|users|readers|subscribers)|"
                     r"(?:promo|discount|coupon) code|quick note for)\b", re.IGNORECASE)
_SECTION_WEIGHT = 2.5  # a section's word is worth this many text cues
# a poll or an opinion survey presenting its result (not a paper surveying a field: "A Survey of LLMs")
_POLL = re.compile(r"\b(?:(?:new |recent |global |national )?(?:poll|survey)s? (?:finds?|found|shows?|showed|suggests?|"
                   r"says|said|reveals?|revealed|indicates?|sheds?|shed|of (?:\d[\d,]* )?(?:people|adults|americans|"
                   r"voters|experts|executives|developers|workers|consumers|respondents))|"
                   r"(?:\ba |\bthe |new |latest |recent |^)poll\b(?!ing)|"
                   r"(?:poll|survey) (?:respondents|participants)|per ?cent of (?:those )?(?:surveyed|polled|respondents)|"
                   r"of (?:those )?(?:surveyed|polled|respondents))", re.IGNORECASE)


_LISTING = re.compile(r"^[\w.'’+&-]+(?: [\w.'’+&-]+){0,3}\s*[-–—|]\s+\S")  # "Name - what it does" (not "Title: subtitle")
# ... but not a piece listed by its title: "Replit AI manifesto - AI and its impact...", "Behind the Scenes - How
# LangChain calculates OpenAI pricing"
_LISTED_PIECE = re.compile(r"^[^-–—|]*?\b(?:manifesto|essay|op-ed|podcast|episode|interview|thread|newsletter|"
                           r"review|guide|tutorial|talk|lecture|keynote|behind the scenes)\s*[-–—|]|"
                           r"^[^-–—|]+[-–—|]\s+(?:how|why|what|when|where|who)\b", re.I)


def listing_of(title: str, text: str) -> bool:
    """A "Name - what it does" listing: in the headline, or opening the text."""
    return any(_LISTING.match(t) and not _LISTED_PIECE.match(t) for t in (title.strip(), text.strip()[:120]))

_LINK_ARTIFACT = (  # (artifact, host pattern, path pattern)
    ("weights", r"(?:^|\.)huggingface\.co$", r"^/(?!datasets/|spaces/|papers/|blog/|docs/|learn/|search/|tasks/|"
                r"organizations/|settings/|collections/|chat/|inference-endpoints/|pricing/|join/|login/)[^/]+/[^/]+/?"),
    ("dataset", r"(?:^|\.)huggingface\.co$", r"^/datasets/[^/]+/[^/]+"),
    ("demo", r"(?:^|\.)huggingface\.co$", r"^/spaces/[^/]+/[^/]+"),
    # an extension or an app to install from a store is something to try
    ("demo", r"^(?:chrome\.google\.com|chromewebstore\.google\.com)$", r"^/(?:webstore/)?detail/"),
    ("demo", r"^(?:apps\.apple\.com|play\.google\.com|addons\.mozilla\.org|marketplace\.visualstudio\.com)$",
     r"/app/|/store/apps/details|/addon/|/items"),
    ("paper", r"(?:^|\.)huggingface\.co$", r"^/papers/\d"),
    ("code", r"^(?:www\.)?(?:github\.com|gitlab\.com|codeberg\.org)$", r"^/[^/]+/[^/]+"),
    ("paper", r"^(?:www\.|export\.)?arxiv\.org$|^(?:www\.)?openreview\.net$|^(?:www\.)?biorxiv\.org$|"
              r"^(?:www\.)?(?:aclanthology|proceedings\.(?:mlr|neurips))\.", r""),
    ("paper", r"", r"\.pdf$"),
    ("api", r"^(?:platform|api|docs)\.", r"api"),
)
_TEXT_ARTIFACT = {
    "weights": r"open[- ]weights?|(?:model |the )?weights (?:are|were|is) (?:out|available|released|public)|"
               r"releas\w+ (?:the |its |their )?(?:model )?weights|download(?:able)? (?:the )?(?:model|weights|"
               r"checkpoints?)|(?:(?:get|grab) (?:the )?(?:[\w-]+ )?(?:models|weights|checkpoints)"
               r"(?: and [\w ]{1,20})? here|download (?:the )?(?:[\w-]+ )?(?:models|weights|checkpoints))\b|"
               r"checkpoints? (?:are|is) (?:available|released)|"
               # "the code and checkpoints open-sourced today", "weights were open-sourced"
               r"(?:weights|checkpoints)(?: (?:are|were|have been|has been|being))? open[- ]sourced|"
               r"open[- ]sourc(?:ed|es|ing) (?:the |its |a |their )?"
               r"(?:[\w-]+ ){0,2}models?|(?:releas\w+|launch\w+|publish\w+|unveil\w+|introduc\w+|drops?|dropped) "
               r"(?:[\w.,-]+ ){0,5}?open[- ]source (?:[\w-]+ ){0,2}models?|"
               # what a listing or an appositive says the thing is ("ZeroScope - New open-source text-to-video
               # model", "GPT-JT, a 6B parameter open source model"), not open-source models in general
               r"(?:^|\s*[-–—:,]\s*)(?:an? |new |the first )?(?:[\w.,-]+ ){0,4}?(?<!\bthe )open[- ]source,? "
               r"(?!the |its |their )"
               r"(?:[\w-]+,? ){0,2}(?:model|llms?|language model)\b|"
               r"(?:available|released) on hugging ?face|(?:under|with) (?:an? )?(?:apache|mit)|"
               # a model's size by "open source": "UL2 20B: An Open Source Unified Language Learner"
               r"\d+(?:\.\d+)?[bm]\b[^.\n]{0,20}?open[- ]source\b",
    "code": r"source code|(?:get|grab|download) (?:the )?code here\b|code (?:is|was) (?:out|available|released|"
            r"public)|open[- ]sourc\w* (?:the |its |their )?code|open[- ]sourced (?:the |its |their )"
            r"(?!(?:\w+ )?(?:model|weights))|"
            r"(?:on|via) github|(?<!manages the )(?<!creates a )(?<!sets up a )github repo\w*|pip install|npm install|open[- ]source (?:[\w-]+ )?(?:library|framework|"
            r"tool|toolkit|package|implementation|project|codebase)s?|open[- ]source [\w-]+ initiatives?|"
            r"code(?: and (?:the )?(?:weights|checkpoints|models?|data))?(?: (?:is|are|was|were|have been|has been|being))?"
            r" open[- ]sourced|"
            # the verb before a name: "Microsoft open-sources GODEL", "Researchers Open-Source ‘GODEL’"
            r"open[- ]sources\s+['‘\"“]?(?-i:[A-Z])|(?:researchers|scientists|engineers|teams?|labs?)\s+"
            r"open[- ]source\s+['‘\"“]?(?-i:[A-Z])(?![\w-]*\s+(?:models?|weights)\b)|"
            r"open[- ]sourc(?:es|ed|ing) (?:the |its |their )?(?:results|work|research|implementation)\b|"
            r"\ban open[- ]source (?:version|alternative|clone|fork|edition)\b"
            r"(?! of (?:the |its |their |a )?(?:[\w-]+ )?(?:models?|weights|llms?)\b)",
    "paper": r"\bpaper\b(?! highlighting)|preprint|arxiv|technical report|published in (?:the journal|nature|science)",
    # an API the story's subject offers ("an official ... API", "API access is open"), not one it mentions
    # ("connect your APIs", "Twitter's API-driven apps", "with the OpenAI API")
    "api": r"(?:an?|its|their|new|public|official|paid|free|developer|rest) (?:[\w-]+ ){0,3}apis?\b(?!-)|"
           r"the apis? (?:for|is|are|lets|gives)\b|apis? (?:access|(?:is|are) (?:now )?(?:available|open|live))\b|"
           r"(?:via|through) (?:an?|its|their|the) (?:[\w-]+ )?apis?\b(?!-)|sdks?\b",
    "dataset": r"(?:releas\w+|open[- ]sourc\w+|publish\w+|new|public) (?:[\w-]+ ){0,2}datasets?|"
               r"(?:(?:get|grab) (?:the )?(?:[\w-]+ )?(?:models? and )?(?:data|datasets?) here|download (?:the )?"
               r"(?:[\w-]+ )?(?:data|datasets?))\b|datasets? "
               r"(?:is|are|was|were) (?:available|released|public)",
    "demo": r"\btry it\b|try (?:it|them) (?:out|here|now|for free)|\bdemo\b|playground|sign up|available "
            r"(?:now|today|to (?:all|everyone))|now available|free to use|chrome extension|app store|is live|"
            r"went live|you can now",
}
_TOOLS_SECTION = re.compile(r"\b(?:tools?|apps?|products?|demos?)\b", re.IGNORECASE)  # "Cool Tools", "New apps"
# words of a listing that describes a tool (not a podcast episode or an article)
_TOOL = re.compile(r"\b(?:tool|app|platform|extension|plugin|api|sdk|assistant|bot|editor|generator|builder|"
                   r"ide|browser|terminal|notebook|copilot|agent|chatbot|workspace|dashboard|cli|"
                   r"lets you|helps you|allows you|turns?|generates?|creates?|builds?|automates?|your|free|open[- ]source|"
                   r"library|framework|search|chat with)\b", re.IGNORECASE)
# a listed tool links to its own site: that is something to use, unless the link is a news site or a post
_NOT_PRODUCT_HOST = re.compile(
    r"(?:^|\.)(?:twitter|x|youtube|youtu|medium|substack|linkedin|facebook|reddit|news\.ycombinator|"
    r"techcrunch|theverge|wired|nytimes|bloomberg|reuters|cnbc|forbes|wsj|ft|theinformation|venturebeat|"
    r"arstechnica|zdnet|engadget|axios|businessinsider|theguardian|bbc|washingtonpost|technologyreview|"
    r"vice|cnn|fortune|axios|wikipedia|google|bit|t|lnkd|beehiiv|mailchi|arxiv|github|huggingface|tomshardware|"
    r"techradar|theregister|gizmodo|mashable|cnet|pcmag|9to5mac|9to5google|androidpolice|thenextweb|siliconangle|"
    r"fastcompany|inc|entrepreneur|marktechpost|analyticsindiamag|towardsdatascience|hackernoon|dev|newscientist|"
    r"scientificamerican|nature|sciencedaily|phys|time|npr|nbcnews|cbsnews|abcnews|latimes|economist|semafor|"
    r"insider|qz|readwrite|techxplore|futurism|unite|syncedreview|theatlantic|newyorker|vox|slate|politico|"
    r"apnews|nypost|independent|telegraph|dailymail|sciencemag|spectrum\.ieee|ieee|venturebeat|thedecoder|"
    r"the-decoder|decrypt|coindesk|wccftech|tweaktown|anandtech|servethehome|hpcwire|datacenterdynamics|"
    r"nextplatform|infoq|zdnet|techspot|neowin|windowscentral|theinformation|stratechery)\.\w+$")
_TEXT_ART_RE = {k: re.compile(rf"\b(?:{v})", re.IGNORECASE | re.MULTILINE) for k, v in _TEXT_ARTIFACT.items()}
# a demo someone gave or recorded, not one to try: "check out his video demo", "a poor choice of demo topic",
# "answers wrong during their demo", "an AI demo day"
_SHOWN_DEMO = re.compile(r"(?:video|recorded|their|his|her|during (?:the |a |its |their )?|in a (?:recent |live )?|"
                         r"choice of|partial|staged)\s+demo\b|\bdemo(?:s)?\s+(?:videos?|day|reel|topic)\b", re.I)
# what a story builds on, not what it makes available: "Ask AI any legal question, based on the open-source model
# BLOOM", "a wrapper around the open-source Whisper model"
_BORROWED = re.compile(r"\b(?:based on|built (?:on|with|using|around)|powered by|using|uses|on top of|runs? on|"
                       r"fine-?tuned (?:from|on)|a fork of|wrappers? (?:for|around)|derived from)\s+"
                       r"(?:an? |the |their |its )?(?:[\w-]+ ){0,2}$", re.I)
_DENIED = re.compile(r"\b(?:without|no|not|never|won'?t|didn'?t|did not|isn'?t|is not|aren'?t|are not|hasn'?t|"
                     r"has not|rather than|instead of|declin\w+ to|refus\w+ to|keeps?|kept|closed|will|would|"
                     r"plans? to|readies|readying|wants? to|aims? to|could|may|might|if|prepar\w+ to|getting ready to|"
                     r"set to|expected to|about to|poised to|gearing up to|reportedly)\b[^.;]{0,40}$",
                     re.IGNORECASE)

LICENCES = (  # (name, pattern, what it permits)
    ("Apache-2.0", r"apache(?:[- ]2(?:\.0)?| licen[cs]e)", "commercial use allowed"),
    ("MIT", r"\bMIT[- ]licen[cs]\w*|licen[cs]ed under (?:the )?MIT\b|\(MIT\)", "commercial use allowed"),
    ("BSD", r"\bBSD(?:[- ][23]-clause)?\b", "commercial use allowed"),
    ("GPL", r"\b(?:A|L)?GPL(?:v?[23])?\b", "copyleft: derived code must stay open"),
    ("CC-BY-NC", r"\bCC[- ]BY[- ]NC\b|non[- ]?commercial", "no commercial use"),
    ("CC-BY", r"\bCC[- ]BY(?:[- ]SA)?(?:[- ]4\.0)?\b|creative commons", "use with attribution"),
    ("OpenRAIL", r"\b(?:open)?rail(?:-m)?\b licen[cs]e|\bopenrail\b", "use restrictions attached"),
    ("Llama licence", r"llama (?:2 )?(?:community )?licen[cs]e", "commercial use with Meta's limits"),
    ("research-only", r"research[- ](?:only|purposes only|use only)|for research use", "research use only"),
    ("public domain", r"public domain|\bCC0\b", "no restrictions"),
)
_LICENCE_RE = [(n, re.compile(p, re.IGNORECASE), what) for n, p, what in LICENCES]
_PRICE = re.compile(r"(?:[$€£]\s?\d[\d,.]*(?:\s?(?:k|m|million))?\s?(?:/|per |a )\s?(?:month|mo|year|yr|user|seat|"
                    r"hour|image|minute|query|request|call|(?:million|1m|1k|thousand) tokens|token)s?\b)|"
                    r"\bfree (?:tier|plan|to use|for (?:everyone|all|personal use|non-commercial use))\b|"
                    r"\bfor free\b|\bfree of charge\b", re.IGNORECASE)
_ACCESS = (  # (access, pattern), first match wins
    # "early access" is a waitlist where a product is in it or one signs up for it, not where it is given away
    # ("$1M each and early access to its systems")
    ("waitlist", r"wait[- ]?list|waiting list|invite[- ]only|request access|apply for access|"
                 r"(?:in|via|through|join|request|sign up for|apply for|get) early access"),
    # a product in preview, not a reporter "given a preview ahead of the conference"
    ("beta", r"\b(?:private |public |open )?beta\b|\b(?:in|public|private|developer|technical|research|early|limited) "
             r"preview\b|\bpreview (?:release|version|build|access|program(?:me)?)\b"),
    ("coming", r"coming (?:soon|weeks|months)|will (?:launch|release|roll out|be available)|later this year|"
               r"plans? to (?:release|launch|open)"),
    ("open", r"now available|available (?:now|today|to (?:all|everyone))|open to (?:all|everyone)|free to use|"
             r"generally available|\bGA\b|is live|pip install|download|"
             # "Snapchat is releasing its AI chatbot to everyone for free", "rolls out to all users"
             r"(?:releas\w+|rolls? out|rolling out|roll\w* out|launch\w*|opens?|brings?|comes?|coming)"
             r"(?: [\w'’-]+){0,5}? to (?:all|everyone|every(?:one|body))\b"),
)
_ACCESS_RE = [(a, re.compile(rf"\b(?:{p})", re.IGNORECASE)) for a, p in _ACCESS]
_FIGURE = re.compile(
    r"(?<![\w.$€£-])(?:[$€£]\s?\d[\d,.]*(?:-(?=million|billion)|\s*)(?:million|billion|trillion|[mbk]n?|[MBK])?"
    r"(?![\w])|"
    r"\d[\d,.]*\s?(?:%|x\b|×|times\b|percent\b|(?:million|billion|trillion)\b|[BMK]\b(?!-)|GB\b|TB\b|"
    r"(?:[BMK] )?(?:tokens|parameters|params|users|images|hours|languages|GPUs|chips|downloads|customers|"
    r"employees|jobs|people|words|pages|examples|samples|tasks|points?|seconds|secs?|ms|milliseconds|minutes|fps|"
    r"days|weeks|months|years)\b)|\d+\.\d+(?![\w.]))",  # "3.4 months" is matched whole: no score of 3.4
    re.IGNORECASE)
_SPAN = re.compile(r"(?:days|weeks|months|years)$", re.IGNORECASE)
# a count of who uses or pays for something ("750 million monthly users"): background, not a claim to measure
_AUDIENCE = (r"(?:users|subscribers|customers|members|downloads|visitors|employees|people|listeners|viewers|readers|"
             r"followers|installs)")
AUDIENCE_COUNT = re.compile(rf"\b{_AUDIENCE}\b", re.I)
# ... compared as such: "the app's more than 3 million paid subscribers"
AUDIENCE_MORE = re.compile(rf"\b(?:more than|over|nearly|almost|about|some)\s+[\d.,]+\s*(?:million|billion|[kmb])?\s+"
                           rf"(?:[\w-]+\s+){{0,2}}{_AUDIENCE}\b", re.I)
# "first" saying when, not that something was a first: "was first made available to ..."
FIRST_AS_WHEN = r"(?:made|released|launched|announced|introduced|available|shown|seen|reported|rolled|offered|opened)"
_VERSION_BEFORE = re.compile(r"(?:\b[A-Z][\w-]*|\bv(?:ersion)?)\s?$")
_MEASURE = re.compile(r"^\s*(?:of |in )?((?:[a-z][\w-]*\s?){1,5})", re.IGNORECASE)
_MEASURE_STOP = re.compile(r"^(?:the|a|an|and|or|to|of|in|on|for|from|with|by|at|as|is|are|was|were|it|its|this|"
                           r"that|which|who|than)$", re.IGNORECASE)
MEASURED_BY_OTHERS = re.compile(
    r"\b(?:independent(?:ly)?|third[- ]party (?:tests?|testing|evaluations?|benchmarks?|audits?|reviews?|"
    r"measurements?|researchers|labs?)|(?:replicat|reproduc)(?:ed|es|ing|ion|tion) (?:of )?(?:the |its |their |"
    r"these |those )?(?:\w+ )?(?:results?|findings|numbers|scores|claims?|study|paper|benchmarks?|experiments?)|"
    r"(?:failed to|unable to|could(?:n't| not)|tried to) (?:replicate|reproduce)|a replication|researchers (?:at|from) \w+ (?:found|"
    r"showed|tested)|(?:we|they) tested|our (?:own )?tests?|in (?:our|independent) tests|audited|"
    r"an? (?:independent |external |third-party )?audit (?:by|of|from|found|showed)|auditors? (?:found|showed)|"
    r"according to (?:a |an )?(?:study|analysis|report|survey|researchers|data from)|"
    r"(?:study|analysis|report|survey) (?:by|from) \w+|leaderboard|lmsys|arena)\b", re.IGNORECASE)
ASSERTED = re.compile(
    r"\b(?:claims?|claimed|claiming|says? (?:it|its|the (?:new )?model)|said (?:it|its)|according to (?:the "
    r"company|its makers|the startup|the firm|\w+'s (?:blog|announcement|post))|boasts?|promises?|touts?|"
    r"billed as|calls it|describes? it as|(?:the )?company says|it says|reportedly|purportedly|"
    r"allegedly)\b|\bup to \d+(?:[.,]\d+)*(?:%|x\b|×|\s?times\b)?", re.IGNORECASE)  # the figure whole: "up to 1.3x"


@dataclass
class Figure:
    value: str  # as written: "$141M", "40%", "7B parameters"
    measures: str  # the words after it ("faster", "raised"...), or the sentence's verb context; "" if none
    sentence: str  # the sentence it came from


@dataclass
class Facts:
    kind: str
    kind_cues: list[str]
    artifacts: list[str]  # in ARTIFACTS order
    artifact_links: dict[str, str]  # artifact -> the link that shows it, where a link does
    licence: str = ""
    licence_permits: str = ""
    price: str = ""
    access: str = ""  # open | waitlist | beta | coming | ""
    figures: list[Figure] = field(default_factory=list)
    claim: str = ""  # measured (by someone else) | asserted (by its maker) | "" (no claim with a figure)
    claim_cue: str = ""  # the words that say so
    one_line: bool = False  # a link-list entry: a line, not a story
    binding: bool = False  # policy that binds someone (a law, a rule, a ruling, a ban, a fine), not a programme
    decided: bool = False  # ... and is already decided (a ruling, a fine, a law passed), not a proposal
    programme: bool = False  # policy that is a government programme (funding, contracts, a strategy), not a rule
    kind_sure: bool = True  # the kind won by at least SURE_MARGIN: a brief frames the story by it
    deal: dict[str, str] | None = None  # the headline's acquisition: buyer, target, price ("" if none stated)
    failure: bool = False  # an incident where something broke (an outage, a breach, a bug), not a controversy
    abuse: bool = False  # an incident where AI was used to harm people (deepfake porn, scams), not a controversy
    event: bool = False  # an event announced to attend or apply to (a hackathon, a live event), not news of one
    state_user: str = ""  # policy about what the state itself does with AI: "the police", "the military"
    shutdown: bool = False  # the headline says a product or project is being shut down or wound down
    site_only: bool = False  # the demo is only the site a listing links: whether it is open to use is not said
    lawsuit: bool = False  # policy that is a lawsuit filed, not yet decided: one side's claim
    house_rule: str = ""  # policy that is a company's, platform's or event's own rule: whose ("Getty Images")


_TITLE_WEIGHT = 3  # a cue in the headline says what the news is; the text's cues count once each
_CUE_CAP = 4  # the text's cue words stop counting here: a long text is not more of a kind for repeating it
_PROTOTYPE_WEIGHT = 2.0  # a kind's closest description (cosine) counts this many cue words
# below this margin over the runner-up (in cue words) a kind is a guess: on 403 hand-labelled real stories,
# kinds won by less were right half the time, the others three times in four (bench/RESULTS.md)
SURE_MARGIN = 1.0


# a headline that speculates ("AI might help edit ..."): with no release word, no release the brief is sure of
_MAYBE = re.compile(r"\b(?:might|could|may)\b", re.I)
_VERDICT = re.compile(rf"\b(?:{VERDICT})\b", re.I)
# a headline telling of a harm or failure that happened, whatever it speculates besides ("Tesla recalls 362,758
# vehicles, says FSD beta software may cause crashes")
_HAPPENED = re.compile(r"\b(?:recall(?:s|ed)|suffer(?:s|ed)|leak(?:s|ed)|breach(?:es|ed)|went down|goes down|"
                       r"(?:was|were|got|gets) (?:hacked|breached|leaked|exposed|fined)|hit by|shut(?:s)? down)\b", re.I)
# a headline telling of something put to use ("AI Art Generator Used to Make Bullet Hell Video Game"): a story
# about its use, not its release
_PUT_TO_USE = re.compile(r"\b(?:used|employed|enlisted|tapped|deployed) (?:to|by|in|for|as)\b", re.I)


def kind_of(title: str, text: str, section: str = "", vector: np.ndarray | None = None,
            prototypes: dict[str, np.ndarray] | None = None) -> tuple[str, list[str]]:
    """The kind of news and the cues that decided it (`kind_decision` without its margin)."""
    kind, cues, _ = kind_decision(title, text, section, vector, prototypes)
    return kind, cues


def kind_decision(title: str, text: str, section: str = "", vector: np.ndarray | None = None,
                  prototypes: dict[str, np.ndarray] | None = None) -> tuple[str, list[str], float]:
    """The kind of news, the cues that decided it, and its margin over the runner-up (in cue words): cue
    words (title twice), the newsletter's section (a section named for a kind counts as strong evidence), a
    "Name - what it does" listing (a release), and, given the story's unit vector and each kind's described
    prototypes (unit rows, outputs/kinds.toml), the closest description. Ties go to the order of KINDS."""
    if section.lower() == "fiction":
        return "fiction", [], float("inf")
    scores: dict[str, float] = {}
    cues: dict[str, list[str]] = {}
    for kind in KINDS:
        in_title = {m.group(0).lower() for m in _KIND_RE[kind].finditer(title)}
        in_text = {m.group(0).lower() for m in _KIND_RE[kind].finditer(text[:1500])}
        scores[kind] = _TITLE_WEIGHT * len(in_title) + min(len(in_text - in_title), _CUE_CAP)
        cues[kind] = sorted(in_title | in_text)
        sec = _SECTION_RE.get(kind)
        if section and sec is not None and sec.search(section):
            scores[kind] += _SECTION_WEIGHT
            cues[kind] = [f"section “{section}”", *cues[kind]]
    listed = listing_of(title, text)
    if listed:
        scores["release"] += 1.5
        cues["release"] = ["a product listing", *cues["release"]]
    cued = max(scores.values()) > 0
    notices = sorted({m.group(0).lower() for m in NOTICE.finditer(f"{title} {text}")})
    if notices and (max(scores.values()) <= 2 or len(text.split()) < 40):
        return "notice", notices, float("inf")  # housekeeping: a meetup, a prize, a referral scheme
    if vector is not None and prototypes:
        v = vector / max(float(np.linalg.norm(vector)), 1e-12)
        for kind, rows in prototypes.items():
            if kind in scores and len(rows):
                best = float(np.max(rows @ v))
                scores[kind] += _PROTOTYPE_WEIGHT * best
                if best >= 0.35:
                    cues[kind] = [*cues[kind], f"reads like “{kind}” ({best:.2f})"]
    best = max(KINDS, key=lambda k: (scores[k], -KINDS.index(k)))
    if scores[best] <= 0:
        return "other", [], float("inf")  # no cue and no description to compare with
    if not cued and scores[best] < _PROTOTYPE_WEIGHT * 0.35:
        # no cue, and no description close: the closest is still the best guess, but never sure enough to
        # frame the brief ("An official Stable Diffusion API." reads most like a release)
        return best, cues[best][:6], 0.0
    margin = scores[best] - max(v for k, v in scores.items() if k != best)
    if best == "incident" and all(c.startswith(("section", "reads like")) for c in cues[best]):
        # a newsletter's "Concerns" section and a worried tone hold essays and critiques as much as things
        # that went wrong: without a word naming the harm or failure the brief does not frame it as one
        margin = min(margin, 0.0)
    # what the headline itself says of a story whose cues made it a release or business: no launch word there,
    # and no listing
    unlaunched = not listed and best in ("release", "business") and not _KIND_RE["release"].search(title)
    if unlaunched and best == "release" and (_MAYBE.search(title) or _PUT_TO_USE.search(title)):
        # "AI might help edit the next generation of blockbusters", "AI Art Generator Used to Make Bullet Hell
        # Video Game": a headline that speculates, or tells of something put to use, is a feature or an argument
        # whatever its text's tool words
        margin = min(margin, 0.0)
    if best == "incident" and _MAYBE.search(title) and not _HAPPENED.search(title):
        # "Deepfake porn could be a growing problem amid AI race": a trend piece that speculates, not a harm or a
        # failure that happened ("Tesla recalls 362,758 vehicles, says FSD beta may cause crashes" did happen)
        margin = min(margin, 0.0)
    verdict = _VERDICT.search(title) if unlaunched else None
    if verdict:
        # "The new Bing demo made more mistakes than Google's Bard": a judgement of something already out is
        # an analysis, whatever section or launch words surround it
        return "opinion", [f"a verdict: “{verdict.group(0)}”", *cues["opinion"][:5]], SURE_MARGIN
    return best, cues[best][:6], margin


# ---------------------------------------------------------------------------------- an acquisition
_RUN = r"[A-Z][\w.&+’'-]*(?:\s+(?:[A-Z0-9][\w.&+’'-]*|&))*"  # a run of capitalised words ("Boston Dynamics")
_MONEY = re.compile(r"~?(?:[$€£]\s?\d[\d,.]*(?:\s?(?:billion|million|bn|b|m|k)\b)?|\d[\d,.]*\s?(?:billion|million) "
                    r"(?:dollars|euros|pounds)\b)", re.I)
_BUY = (r"(?:acquires|acquired|buys|bought|snaps up|snapped up|(?:agrees|agreed|wants|plans|moves|is set|set|"
        r"in (?:\w+ )?talks|bids|offers|is looking|looks|is said|reportedly)? ?to (?:acquire|buy)|"
        r"(?:completes|completed|closes|closed|announces|announced|confirms|confirmed) (?:its |the )?(?:acquisition|"
        r"purchase) of|paid \S+(?: (?:billion|million))? (?:to acquire|to buy|for)|is acquiring|is buying)")
_ACTIVE = re.compile(rf"^(?P<buyer>.+?)\s+{_BUY}\s+(?P<target>.+)$", re.I)
_PASSIVE = re.compile(r"^(?P<target>.+?)\s+(?:is |was |has been |gets |to be |will be )?(?:acquired|bought)\s+by\s+"
                      r"(?P<buyer>.+)$", re.I)
_POSSESSIVE = re.compile(rf"(?P<buyer>{_RUN})['’]s\s+(?:(?:proposed|planned|\S*\d\S*(?: (?:billion|million))?)\s+)*"
                         rf"(?:(?P<target>{_RUN})\s+(?:acquisition|purchase|takeover|buyout)\b|"
                         rf"(?:acquisition|purchase|takeover) of\s+(?P<target2>.+)$)")
_TARGET_END = re.compile(r"\s+(?:for|to|amid|after|as|from|with|at|over|in (?:a|an|its|\d)|that|which|who)\s|"
                         r"[,;:!?(]|\s[-–—|]\s|\.$")
_STAKE = re.compile(r"^(?:a |an |the )?(?:controlling |majority |minority |\d+% )?stake in\s+", re.I)
_LEADING = {"why", "how", "what", "when", "where", "report", "reports", "exclusive", "breaking", "update", "the",
            "a", "an", "rumor", "rumour", "official", "confirmed", "now", "so", "and", "but", "after", "as", "i", "we", "you"}
_NOT_A_PARTY = {"ai", "a.i.", "ml", "llm", "llms", "us", "u.s.", "uk", "u.k.", "eu", "gpu", "gpus", "api", "ceo", "it"}


def _party(phrase: str, last: bool = True) -> str:
    """The name a deal's side gives: its last run of capitalised words (the buyer's phrase ends with it,
    the target's description ends with it: "AI chipmaker Habana"), less opening words ("Why Microsoft")."""
    found = []
    for run in re.findall(_RUN, phrase):
        run = re.split(r"['’]s\s+", run.rstrip(".’'-–"))[-1]  # "Germany's BioNTech", "Alphabet’s Intrinsic"
        words = [w for w in run.split() if not re.search(r"-(?:owned|based|backed|led)$", w, re.I)]
        while words and words[0].lower() in _LEADING:
            words.pop(0)
        name = " ".join(words)
        if name and name.lower() not in _NOT_A_PARTY and not all(w.lower() in _NOT_A_PARTY for w in words):
            found.append(name)
    return (found[-1] if last else found[0]) if found else ""


_FILLER = {"that", "with", "for", "of", "the", "and", "in", "to", "a", "an", "its", "startup", "company", "firm",
           "maker", "platform", "tool", "tools", "app", "developer", "more", "most"}


_PENDING_DEAL = re.compile(r"\b(?:to (?:buy|acquire|purchase|take over)|agrees?|agreed|plans?|planning|in talks|talks|bids?|"
                           r"offers?|could|may|might|would|set to|seeks?|considers?|weighs?|eyes|nears?|pending|"
                           r"proposed|rumou?red|reportedly)\b", re.I)


_PENDING_TEXT = re.compile(r"\b(?:expected to (?:close|complete)|subject to (?:regulatory|shareholder|approval)|"
                           r"(?:has |have )?agree[sd]? to (?:buy|acquire)|will (?:buy|acquire)|pending (?:regulatory )?"
                           r"approval|(?:has )?yet to close|not yet closed)\b", re.I)


def deal_of(title: str, raw: str = "") -> dict[str, str] | None:
    """The acquisition a headline states ("Intel buys AI chipmaker Habana for $2 billion", "Oterlu acquired
    by Reddit", "Nvidia's $40 billion Arm acquisition"): buyer, target and price, or None. Both sides must
    be names: "Google buys time" and "Apple has acquired more AI startups" state no deal."""
    head = title.strip().split("\n")[0].strip().strip("\"“”'")
    buyer = target = ""
    m = _PASSIVE.match(head)
    if m:
        buyer, target = _party(_TARGET_END.split(m.group("buyer"), maxsplit=1)[0], last=False), _party(m.group("target"))
    else:
        m = _ACTIVE.match(head)
        if m:
            rest = _STAKE.sub("", m.group("target"))
            buyer, target = _party(m.group("buyer")), _party(_TARGET_END.split(rest, maxsplit=1)[0])
            if not re.sub(r"(?:\s+\w+ly)+$", "", m.group("buyer").rstrip(".’'")).endswith(buyer):
                buyer = ""  # "Users want to buy ...": whoever buys is the words right before the verb
        else:
            m = _POSSESSIVE.search(head)
            if m:
                buyer = _party(m.group("buyer"))
                target = _party(m.group("target") or _TARGET_END.split(m.group("target2"), maxsplit=1)[0])
    if not buyer or not target or buyer.lower() == target.lower():
        # a Title Case headline whose body confirmed none of its names ("Reddit Acquires Oterlu, Developer of
        # ..."): read as written, where each side is a short name and not a run of headline words
        deal = deal_of(raw) if raw and raw != title else None
        if deal and all(len(p.split()) <= 3 and not _FILLER & set(p.lower().split())
                        for p in (deal["buyer"], deal["target"])):
            return deal
        return None
    price = _MONEY.search(head)
    # "Microsoft to acquire Nuance", "agrees to buy", "in talks": not done yet; "Intel buys Habana", "acquired by": done
    pending = _PENDING_DEAL.search(head)
    return {"buyer": buyer, "target": target, "price": price.group(0).strip() if price else "",
            "done": "" if pending else "yes"}


def headline_kinds(title: str) -> set[str]:
    """The kinds whose cue words the headline itself uses, and "pending" or "decided" where it says a rule is
    proposed or decided: what a brief may assert about the story without leaning on its text ("Toronto
    considers banning ..." is a pending policy story by its own words)."""
    said = {k for k, rx in _KIND_RE.items() if rx.search(title)}
    if _PENDING.search(title) or re.search(r"\bconsider(?:s|ing)?\b", title, re.I):
        said.add("pending")
    elif _DECIDED.search(title):
        said.add("decided")
    return said


def _host_path(url: str) -> tuple[str, str]:
    try:
        p = urlparse(url)
    except ValueError:
        return "", ""
    return (p.hostname or "").lower(), p.path or ""


# a post on a site, not the site: "mosaicml.com/blog/mpt-7b", "example.com/2023/05/10/...", "blog.example.io"
_POST_PATH = re.compile(r"/(?:blog|blogs|posts?|news|articles?|story|stories|press|newsroom|updates)(?:/|$)|"
                        r"/(?:19|20)\d\d/\d{1,2}/", re.I)


def product_site(url: str, names: Sequence[str] = ()) -> bool:
    """The link goes to a site of its own (a product's), not a news site, a post, a paper or a code host; given
    the names of what the story is about and who made it, a site carrying one of them ("summarize.tech" for
    Summarize Tech, "stability.ai" for Stability AI's SDK), not a blog about it ("blog.theapricot.io" on
    ChatGPT)."""
    host, path = _host_path(url)
    if not host or _NOT_PRODUCT_HOST.search(host) or host.startswith(("blog.", "news.")) or _POST_PATH.search(path):
        return False
    keys = [k for n in names if n for k in _name_keys(n)]
    return not keys or any(k in host.replace("-", "") for k in keys)


def _name_keys(name: str) -> list[str]:
    """What of a name a site's host would carry: its words of four letters or more, and the name run together
    ("Print Nanny": "printnanny")."""
    words = [w for w in re.findall(r"[a-z0-9]+", name.lower())]
    return [*(w for w in words if len(w) >= 4 and w not in ("with", "from", "your")), "".join(words)]


# a research project's own page: a static host or a personal site, where paper, code and numbers usually are
_PROJECT_HOST = re.compile(r"(?:\.github\.io|\.gitlab\.io|\.pages\.dev|\.netlify\.app|\.vercel\.app)$|"
                           r"^sites\.google\.com$|^research\.[\w-]+\.\w+$")


def project_page(url: str) -> bool:
    """The link is a research project's own page ("kylesargent.github.io/vq3d"), not news about it."""
    host, path = _host_path(url)
    return bool(_PROJECT_HOST.search(host)) or (product_site(url) and bool(re.search(r"/(?:~|projects?/)", path)))


def artifacts_of(text: str, urls: Sequence[str], listing: bool = False, tools_section: bool = False
                 ) -> tuple[list[str], dict[str, str]]:
    """Artifacts the story makes available: from its links, then its text (a denied or future one does not
    count). A listed tool (`listing`: "Name - what it does", in words a tool is described with) or any item
    of a newsletter's tools section (`tools_section`) linking to its own site is something to try."""
    found: dict[str, str] = {}
    for url in urls:
        art = link_artifact(url)
        if art:
            found.setdefault(art, url)
    if "demo" not in found and ((listing and _TOOL.search(text)) or tools_section):
        product = next((u for u in urls if product_site(u)), "")
        if product:
            found["demo"] = product
    for art in _TEXT_ART_RE:
        if art not in found and in_words(art, text):
            found[art] = ""
    return [a for a in ARTIFACTS if a in found], {a: u for a, u in found.items() if u}


def link_artifact(url: str) -> str:
    """What the link itself is (`_LINK_ARTIFACT`: weights on Hugging Face, a repository, a store's app...), or ""."""
    host, path = _host_path(url)
    return next((art for art, host_re, path_re in _LINK_ARTIFACT if (not host_re or re.search(host_re, host))
                 and (not path_re or re.search(path_re, path, re.I))), "")


def in_words(art: str, text: str) -> bool:
    """The text itself says the artifact is there ("try it here", "weights are out"): not denied, not in the
    future, not what the story builds on, not a demo someone gave."""
    for m in _TEXT_ART_RE[art].finditer(text):
        found = re.search(r"open[- ]sourc", m.group(0), re.I)
        at = m.start() + (found.start() if found else 0)  # where "open-source" starts, if it does
        # what comes before it, inside the match too ("OpenAI readies new open-source AI model")
        if not _DENIED.search(text[max(0, at - 60):at]) \
                and not (art in ("weights", "code") and _BORROWED.search(text[max(0, at - 60):at])) \
                and not (m.group(0).lower() == "demo" and _SHOWN_DEMO.search(text[max(0, m.start() - 30):m.end() + 8])):
            return True
    return False


def site_only(text: str, links: dict[str, str]) -> bool:
    """The only thing to try is the site a listing links ("BeforeSunset AI - Turns your to-dos into a schedule"
    linking beforesunset.ai): nothing says it is open, free or in a store, so whether anyone can use it today
    (a waitlist, a sales call, a price) is not known."""
    demo = links.get("demo", "")
    if not demo or not product_site(demo) or in_words("demo", text) or price_of(text) or access_of(text):
        return False
    return link_artifact(demo) != "demo"  # a store's or a Space's page is something to try


def licence_of(text: str) -> tuple[str, str]:
    for name, pattern, permits in _LICENCE_RE:
        if pattern.search(text):
            return name, permits
    return "", ""


def price_of(text: str) -> str:
    """The price as a noun phrase ("$20/month", "free", "a free tier"), so "at {price}" reads."""
    m = _PRICE.search(text)
    if not m:
        return ""
    price = m.group(0).strip()
    if re.fullmatch(r"(?i)for free|free of charge|free (?:to use|for .*)", price):
        return "free"
    if re.match(r"(?i)free (?:tier|plan)", price):
        return f"a {price.lower()}"
    return price


_TO_ALL = re.compile(r"\b(?:generally available|available to (?:all|everyone|anyone)|open to (?:all|everyone|anyone)|"
                     r"(?:releas\w+|rolls? out|rolling out|launch\w*|opens?|brings?)(?: [\w'’-]+){0,5}? to "
                     r"(?:all|everyone)\b|"
                     r"(?:no longer|out of|leaves?|left|exits?) (?:its |the )?(?:beta|wait[- ]?list|preview))\b", re.I)


def access_of(text: str, title: str = "") -> str:
    """open, waitlist, beta or coming: the headline's word first; a plain "available to everyone" wins over a
    mention of the waitlist it replaces ("now generally available, after a month behind a waitlist")."""
    for scope in (title, text):
        found = [access for access, pattern in _ACCESS_RE if pattern.search(scope)]
        if found:
            return "open" if "open" in found and _TO_ALL.search(scope) else found[0]
    return ""


_ROUND_AFTER = re.compile(r"^\s*(?:in (?:a |its )?)?((?:pre-)?(?:series [a-h]\d?|seed))\b", re.IGNORECASE)


def _measure(after: str) -> str:
    """What the figure measures, from the few words after it ("faster on one card", "Series A round"), as
    written: function words at either end dropped, none skipped inside ("Series simplify" read nothing)."""
    found = _ROUND_AFTER.match(after)
    if found:  # "$19.1M Series A to simplify..." is the round
        return f"{found.group(1)} round"
    tail = _MEASURE.match(after)
    words = tail.group(1).split() if tail else []
    while words and _MEASURE_STOP.match(words[0]):
        words = words[1:]
    while words and _MEASURE_STOP.match(words[-1]):
        words = words[:-1]
    return " ".join(words)


_DEFINES = re.compile(r"\b(?:defin(?:e|es|ed|ing)\b[^.]{0,80}?\bas\b|is defined|are defined|definitions?:)", re.I)


def figures_of(sentences: Sequence[str], most: int = 12, cut: frozenset[str] = frozenset()) -> list[Figure]:
    """Figures with the words that say what they measure, in the order they appear. `cut`: sums as written
    where an excerpt ends ("$19."), cut short (`cut_sums`)."""
    out: list[Figure] = []
    seen: set[str] = set()
    for s in sentences:
        if _DEFINES.search(s):
            continue  # "they define transformative AI as ... 3 - 5x historical averages": a threshold, not a result
        for m in _FIGURE.finditer(s):
            value = m.group(0).strip()
            if value.endswith((".", ",")):
                if value in cut or re.fullmatch(r"[\"”’']+\s*", s[m.end():]):
                    continue  # '... acquired last year by Microsoft for $19."': an excerpt cut the sum short
                value = value.rstrip(".,")  # a sum ending its sentence
            if value in seen or re.fullmatch(r"(?:19|20)\d\d", value) or _SPAN.search(value):
                continue  # a year; a span of time ("every 3.4 months", "12 years ago") is when, not a result
            if re.fullmatch(r"\d\.\d", value) and _VERSION_BEFORE.search(s, 0, m.start()):
                continue  # "Internet 2.0", "Stable Diffusion 2.1": a version is part of a name ("MMLU 69.6" is not)
            seen.add(value)
            out.append(Figure(value, _measure(s[m.end():]), s.strip()))
            if len(out) >= most:
                return out
    return out


def cut_sums(text: str) -> frozenset[str]:
    """Sums ending a story's text with a bare point ("... by Microsoft for $19." where the article says
    $19.7 billion): a newsletter's excerpt stopped at the decimal point."""
    return frozenset(m.group(1) for line in text.split("\n")
                     if (m := re.search(r"([$€£]\s?\d[\d,]*\.)[\"”’']*\s*$", line)))


def claim_standing(sentences: Sequence[str], figures: Sequence[Figure]) -> tuple[str, str]:
    """Is the story's main claim measured by someone else or asserted by its maker? Read from the sentences
    that carry a figure or a comparison; ("", "") when the story makes no such claim."""
    claims = [f.sentence for f in figures] or [s for s in sentences if re.search(
        rf"\b(?:outperform\w*|beats?|better than|faster than|state[- ]of[- ]the[- ]art|best|first(?! {FIRST_AS_WHEN}\b))\b",
        s, re.I)]
    for s in claims:
        m = MEASURED_BY_OTHERS.search(s)
        if m:
            return "measured", m.group(0)
    for s in claims:
        m = ASSERTED.search(s)
        if m:
            return "asserted", m.group(0)
    return ("asserted", "") if claims else ("", "")  # nobody else's measurement is cited


def one_line_item(text: str) -> bool:
    """A link-list entry: a line of at most 30 words, not a story."""
    return len(text.split()) <= 30 and "\n" not in text.strip()


def extract(title: str, text: str, urls: Sequence[str], section: str = "", sentences: Sequence[str] | None = None,
            vector: np.ndarray | None = None, prototypes: dict[str, np.ndarray] | None = None,
            one_line: bool | None = None, deal: dict[str, str] | None = None,
            lead_kind: tuple[str, list[str], float] | None = None) -> Facts:
    """The facts of one story (or of a cluster's stories joined: titles and texts one per line; `one_line`
    then says whether every one of them is a one-line item). `deal`: the acquisition its headline states
    (`deal_of`); it makes the story a deal unless it is surely told as an opinion, a policy fight or an
    incident. `lead_kind`: the `kind_decision` of a cluster's headline story alone; where the stories together
    leave the kind unsure (a research section's listing and a news site's launch story), a sure one decides."""
    sentences = list(sentences) if sentences is not None else [s for s in re.split(r"(?<=[.!?])\s+|\n", text) if s]
    kind, cues, margin = kind_decision(title, text, section, vector, prototypes)
    ends = _SHUTDOWN.search(title)
    shutdown = bool(ends) and kind in ("release", "research", "business", "other") and not _PART_OF.match(
        title, ends.end())  # "shutters office in Edmonton": a part of a company ends, not what anyone runs
    poll = _POLL.search(f"{title}\n{text[:300]}")
    if poll and kind not in ("fiction", "notice", "funding"):
        # "How do people want to regulate AI? A survey sheds some light", "... a new poll indicates": what was
        # measured is what people think (the regulation or the crash is what they were asked about)
        kind, cues, margin = "opinion", [f"a poll: “{poll.group(0)}”", *cues[:5]], SURE_MARGIN
    head = title.split("\n")[0]
    document = _DOCUMENT.match(head)
    if document and kind not in ("policy", "fiction", "notice"):
        # "Statement on AI risk - The game of signatures is back": a statement signed, not a product listed
        kind, cues, margin = "opinion", [f"a {document.group(1).lower()}", *cues[:5]], SURE_MARGIN
    lesson = _TUTORIAL.search(f"{head}\n{text[:600]}")
    if lesson and kind in ("release", "business", "research", "other") and not _KIND_RE["release"].search(head):
        # "Meta's LLaMa 4-bit works on the free Google Colab" over "this tutorial takes us through using it": a
        # how-to, whatever section it sits in
        kind, cues, margin = "opinion", [lesson.group(0).lower(), *cues[:5]], SURE_MARGIN
    speaker = speaker_of(head)[0] if _CALLS.search(head) else ""
    if kind == "policy" and speaker and not _DECIDED.search(title):
        # "John Legend calls for regulation on AI-generated music", "AI pioneer Yoshua Bengio says governments
        # must move fast": one person's view of what rules should be, not a rule
        kind, cues, margin = "opinion", [f"{speaker}'s view", *cues[:5]], SURE_MARGIN
    if shutdown:  # "Mozilla winds down DeepSpeech, announces grant program": an end, not a launch
        kind, cues, margin = "business", [ends.group(0).lower(), *cues[:5]], SURE_MARGIN
    if lead_kind and margin < SURE_MARGIN <= lead_kind[2] and lead_kind[0] not in ("notice", "fiction") and (
            lead_kind[0] == kind or lead_kind[2] >= 2 * SURE_MARGIN) and not all(
            c.startswith(("section", "reads like", "a product listing")) for c in lead_kind[1]):
        # the headline story's own words say what it is, and agree with the stories together or leave no doubt
        kind, cues, margin = lead_kind[0], ["the headline story", *lead_kind[1][:5]], lead_kind[2]
    raised_by = next((r for r in map(raiser, title.split("\n")) if r), "")
    if kind in ("business", "release", "research") and raised_by:
        # "Wayve, the self-driving startup, raises $13.6M": the headline's news is the raise, whatever the
        # section and the words about the business around it
        kind, cues, margin = "funding", [f"a raise: {raised_by}", *cues[:5]], SURE_MARGIN
    if deal and deal.get("done") and _PENDING_TEXT.search(text[:800]):
        deal = {**deal, "done": ""}  # "Orvex buys Tindal" over "... has agreed to buy ... expected to close in spring"
    if deal and kind not in ("fiction", "notice") and (
            kind not in ("opinion", "policy", "incident") or margin < SURE_MARGIN):
        kind, cues, margin = "funding", [f"a deal: {deal['buyer']} buys {deal['target']}", *cues[:5]], SURE_MARGIN
    elif kind != "funding":
        deal = None
    elif not _RAISED.search(f"{title}\n{text[:400]}"):
        margin = min(margin, 0.0)  # money named but nobody raised it: the brief does not frame it as a raise
    elif raised_by or any(_RAISED.search(t) for t in title.split("\n")):
        # "Nurse-assisting robotics firm Diligent raises $30M", "Gather AI secures new cash": nothing else
        margin = max(margin, SURE_MARGIN)
    listing = listing_of(title, text)
    tools = kind == "release" and bool(_TOOLS_SECTION.search(section))
    arts, links = artifacts_of(f"{title}\n{text}", urls, listing and kind == "release", tools) if kind != "fiction" \
        else ([], {})
    if kind == "release" and listing and arts == ["paper"] and links.get("paper") \
            and not any(product_site(u) for u in urls):
        # "Generative agents - Interactive simulacra of human behaviour" linking to arXiv: a listed paper
        kind, cues, margin = "research", ["a listed paper", *cues[:5]], max(margin, SURE_MARGIN)
    licence, permits = licence_of(text)
    lines = [*title.split("\n"), *sentences]  # a cluster's titles come one per line
    figures = figures_of(lines, cut=cut_sums(text))
    one_line = one_line_item(text) if one_line is None else one_line
    # a one-line link item claims nothing of its own; fiction and opinion make no measurable claim
    results = [f for f in figures if not AUDIENCE_COUNT.search(f.measures)]  # how many use it is no result
    claim, claim_cue = claim_standing(lines, results) if kind not in ("fiction", "opinion") and not one_line \
        else ("", "")
    # a raise's text tells what the money is for ("in the coming months we plan to open access"): the access
    # of what it makes, not of the news, so only its headline's word counts; an incident, a policy or an opinion
    # has no access ("full self-driving beta" recalled)
    access = "" if kind in ("incident", "policy", "opinion", "fiction", "notice") else \
        access_of("" if kind == "funding" else text, title)
    price = price_of(f"{title} {text}")
    if kind == "release" and not access and price == "free":
        access = "open"  # "Codeium - ChatGPT in IDE for free": free to anyone is open to anyone
    return Facts(kind=kind, kind_cues=cues, artifacts=arts, artifact_links=links, licence=licence,
                 licence_permits=permits, price=price, access=access,
                 figures=figures, claim=claim, claim_cue=claim_cue, one_line=one_line,
                 binding=kind == "policy" and bool(_BINDING.search(f"{title} {text[:1500]}")),
                 decided=kind == "policy" and bool(_DECIDED.search(f"{title} {text[:600]}"))
                 and (not _PENDING.search(f"{title} {text[:600]}") or bool(_ENACTED.search(title))),
                 kind_sure=margin >= SURE_MARGIN,
                 programme=kind == "policy" and bool(_PROGRAMME.search(title) or _PROGRAMME_MONEY.search(text[:1500])),
                 deal=deal,
                 failure=kind == "incident" and bool(_FAILURE.search(f"{title} {text[:1500]}")), shutdown=shutdown,
                 abuse=kind == "incident" and bool(_ABUSE.search(f"{title} {text[:600]}")),
                 event=bool(_EVENT.search(title)) and bool(_EVENT_AHEAD.search(f"{title} {text[:300]}"))
                 and not _EVENT_PAST.search(title),
                 state_user=next((who for who, pattern in _STATE_USE if pattern.search(title)), "")
                 if kind == "policy" else "",
                 lawsuit=kind == "policy" and bool(_LAWSUIT.search(title)) and not _DECIDED.search(title),
                 house_rule=house_rule(head) if kind == "policy" else "",
                 site_only=site_only(f"{title}\n{text}", links))
