"""Generated Facebook traffic: comments under a Page's posts, visitor posts, Messenger threads.

Drawn from the same seeded source as the X traffic, so a seed gives the same people and words.
Some comments land on a post ten days old, because a connector must still find those.
"""

from __future__ import annotations

from connectors.simulator.graph_state import Comment, FacebookWorld, FbMessage, Page, Person, Post

Made = Post | Comment | FbMessage
OLD_POST_AGE = 10 * 86400.0


def generate(world: FacebookWorld, page_id: str, count: int, *, messenger_share: float = 0.3,
             thread_share: float = 0.3, visitor_post_share: float = 0.05,
             page_reply_share: float = 0.0, spread_seconds: float = 0) -> list[Made]:
    """Customer comments, visitor posts and Messenger messages in time order, back-dated over
    `spread_seconds`; `page_reply_share` of them get an answer from the Page's own staff."""
    with world.lock:
        page = world.page(page_id)
        posts = [p for p in world.feed(page_id) if p.author_id == page_id]
        if not posts:
            posts = _page_posts(world, page, spread_seconds)
        made: list[Made] = []
        for n in range(count):
            back = spread_seconds * (count - n - 1) / count
            traffic = world.traffic
            item: Made
            if traffic.chance(messenger_share):
                item = _message(world, page, thread_share, back)
            elif traffic.chance(visitor_post_share):
                person = _new_person(world)
                item = world.add_post(page.id, traffic.opening(person.lang), person.id, back)
            else:
                item = _comment(world, page, posts, thread_share, back)
            made.append(item)
            if page_reply_share and traffic.chance(page_reply_share):
                made.append(_answer(world, page, item, max(back - 60, 0)))
        return made


def _page_posts(world: FacebookWorld, page: Page, spread: float) -> list[Post]:
    """An old post and two recent ones for people to comment on."""
    ages = (OLD_POST_AGE, spread + 3600, spread + 1800)
    return [world.add_post(page.id, world.traffic.page_post(page.lang), back_seconds=age)
            for age in ages]


def _new_person(world: FacebookWorld) -> Person:
    spec = world.traffic.customer()
    return world.add_person(spec.user_id, spec.name, spec.lang)


def _comment(world: FacebookWorld, page: Page, posts: list[Post], thread_share: float,
             back: float) -> Comment:
    traffic = world.traffic
    roots = [c for c in world.comments.values() if c.parent_id is None
             and c.author_id != page.id and world.posts[c.post_id].page_id == page.id]
    if roots and traffic.chance(thread_share):
        root = roots[traffic.pick(len(roots))]
        who = world.people[root.author_id]
        return world.add_comment(root.id, who.id, traffic.followup(who.lang), back_seconds=back)
    who = _new_person(world)
    post = posts[traffic.pick(len(posts))]
    return world.add_comment(post.id, who.id, traffic.opening(who.lang), back_seconds=back)


def _message(world: FacebookWorld, page: Page, thread_share: float, back: float) -> FbMessage:
    traffic = world.traffic
    threads = world.threads_of(page.id)
    if threads and traffic.chance(thread_share):
        who = world.people[threads[traffic.pick(len(threads))].user_id]
        text = traffic.followup(who.lang)
    else:
        commenters = sorted({c.author_id for c in world.comments.values()
                             if c.author_id != page.id and world.thread_with(page.id, c.author_id)
                             is None})
        if commenters and traffic.chance(0.5):
            who = world.people[commenters[traffic.pick(len(commenters))]]
            text = traffic.messenger(who.lang, who.name.lower().replace(" ", "."))
        else:
            who = _new_person(world)
            text = traffic.opening(who.lang)
    return world.add_message(page.id, who.id, text, back_seconds=back)


def _answer(world: FacebookWorld, page: Page, item: Made, back: float) -> Made:
    """The Page's staff answering from Facebook itself (not through the API)."""
    if isinstance(item, FbMessage):
        who = world.people[item.sender_id]
        text = world.traffic.page_reply(who.lang, who.first_name)
        return world.add_message(page.id, who.id, text, from_page=True, back_seconds=back)
    who = world.people[item.author_id]
    target = item.id if isinstance(item, Post) else item.parent_id or item.id
    return world.add_comment(target, page.id, world.traffic.page_reply(who.lang, who.first_name),
                             back_seconds=back)
