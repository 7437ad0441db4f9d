"""Formatted text and reply markup as a Bot API request carries them.

Text is parsed in HTML parse mode or read from explicit entities, then normalised as tdlib does
(`formatting`); reply markup, link preview options and inline buttons are checked field by field,
with Telegram's error messages. Markdown is refused outright: the bot formats with HTML.
"""

from __future__ import annotations

import re
from typing import Any

from opsbot.emulators.telegram import formatting as th
from opsbot.emulators.telegram.limits import MAX_CALLBACK_DATA_BYTES, MAX_INLINE_BUTTONS
from opsbot.emulators.telegram.wire import (
    JSON,
    ApiError,
    _as_int,
    _bad,
    _obj_bool,
    _obj_int,
    _obj_str,
    _Params,
    _tdlib_message,
)
from opsbot.emulators.telegram.world import World

_BUTTON_ACTIONS = (
    "url", "callback_data", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "callback_game",
    "pay", "web_app", "copy_text",
)  # fmt: skip


class Markup(World):
    """Reads the text, entities, link preview and reply markup of a request."""

    def _formatted(
        self,
        params: _Params,
        raw_text: str,
        mode_param: str,
        entities_param: str,
        *,
        allow_empty: bool = False,
    ) -> tuple[str, list[JSON]]:
        mode = (params.string(mode_param) or "").lower()
        try:
            if mode == "html":
                text, entities = th.parse_html(raw_text, resolve_user=self._mention_user)
            elif mode in ("", "none"):
                text = raw_text
                entities = self._explicit_entities(params, entities_param)
            elif mode in ("markdown", "markdownv2"):
                # Honest refusal: opsbot formats with HTML, so Markdown is not emulated.
                raise _bad("unsupported parse_mode (the emulator implements only HTML)")
            else:
                raise _bad("unsupported parse_mode")
            return th.normalize(text, entities, allow_empty=allow_empty)
        except th.ParseError as error:
            raise ApiError(400, error.description) from None
        except th.TextError as error:
            raise _bad(_tdlib_message(error.message)) from None

    def _mention_user(self, user_id: int) -> JSON | None:
        user = self.users.get(user_id)
        return dict(user) if user is not None else None

    def _explicit_entities(self, params: _Params, name: str) -> list[JSON]:
        raw = params.json_value(name, "can't parse entities JSON object")
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise _bad("can't parse entities JSON object")
        prefix = "can't parse MessageEntity"
        entities = []
        for item in raw:
            if not isinstance(item, dict):
                raise _bad(f"{prefix}: MessageEntity should be an Object")
            kind = _obj_str(item, "type", prefix, required=True)
            offset = _obj_int(item, "offset", prefix, required=True)
            length = _obj_int(item, "length", prefix, required=True)
            if kind not in th.ENTITY_TYPES:
                raise _bad(f"{prefix}: Unsupported type specified")
            assert offset is not None and length is not None
            entity: JSON = {"type": kind, "offset": offset, "length": length}
            if kind == "text_link":
                url = _obj_str(item, "url", prefix, required=True) or ""
                checked, reason = th.check_link(url)
                if checked is None:
                    raise _bad(f"entity URL '{url}' is invalid: {reason}")
                entity["url"] = checked
            elif kind == "text_mention":
                user = item.get("user")
                if not isinstance(user, dict):
                    raise _bad(f'{prefix}: Can\'t find field "user"')
                known = self.users.get(_as_int(user.get("id")) or 0)
                if known is None:
                    raise _bad("user not found")
                entity["user"] = dict(known)
            elif kind == "custom_emoji":
                emoji_id = _obj_str(item, "custom_emoji_id", prefix, required=True) or ""
                if not re.fullmatch(r"\d{1,19}", emoji_id) or int(emoji_id) > 2**63 - 1:
                    raise _bad(f'{prefix}: Field "custom_emoji_id" must be a valid Number')
                entity["custom_emoji_id"] = emoji_id
            elif kind == "pre":
                language = _obj_str(item, "language", prefix)
                if language:
                    entity["language"] = language
            if kind in th.USER_ENTITY_TYPES:
                # Telegram finds url, mention, hashtag... itself and ignores the sender's.
                entities.append(entity)
        return entities

    def _link_preview(self, params: _Params) -> JSON | None:
        raw = params.json_value(
            "link_preview_options", "can't parse link preview options JSON object"
        )
        if raw is None:
            if params.boolean("disable_web_page_preview"):
                return {"is_disabled": True}
            return None
        if not isinstance(raw, dict):
            raise _bad("can't parse link preview options JSON object")
        options: JSON = {}
        for name in ("is_disabled", "prefer_small_media", "prefer_large_media", "show_above_text"):
            value = _obj_bool(raw, name)
            if value:
                options[name] = True
        url = _obj_str(raw, "url")
        if url:
            checked, _reason = th.check_link(url)
            if checked is None:
                raise _bad("WEBPAGE_URL_INVALID")
            options["url"] = url
        return options or None

    def _reply_markup(self, params: _Params, *, inline_only: bool) -> JSON | None:
        error = "can't parse reply keyboard markup JSON object"
        raw = params.json_value("reply_markup", error)
        if raw is None:
            return None
        if not isinstance(raw, dict):
            raise _bad(error)
        if "inline_keyboard" in raw:
            return self._inline_keyboard(raw["inline_keyboard"])
        if not raw.keys() & {"keyboard", "force_reply", "remove_keyboard"}:
            # An object without a known markup is no markup (PTB sends an empty keyboard so).
            return None
        if inline_only:
            raise _bad("inline keyboard expected")
        if "keyboard" in raw:
            rows = raw["keyboard"]
            if not isinstance(rows, list):
                raise _bad('field "keyboard" must be of type Array')
            for row in rows:
                if not isinstance(row, list):
                    raise _bad('field "keyboard" of the ReplyKeyboardMarkup should be an Array '
                               "of Arrays")  # fmt: skip
                for button in row:
                    if isinstance(button, dict):
                        _obj_str(button, "text", "can't parse keyboard button", required=True)
                    elif not isinstance(button, str):
                        raise _bad("can't parse keyboard button: KeyboardButton should be a "
                                   "String or an Object")  # fmt: skip
            for name in ("is_persistent", "resize_keyboard", "one_time_keyboard", "selective"):
                _obj_bool(raw, name)
            return dict(raw)
        if "force_reply" in raw:
            _obj_bool(raw, "force_reply")
            markup: JSON = {"force_reply": True}
            if _obj_bool(raw, "selective"):
                markup["selective"] = True
            placeholder = _obj_str(raw, "input_field_placeholder")
            if placeholder:
                # tdlib cuts a long placeholder to 64 characters rather than failing.
                markup["input_field_placeholder"] = placeholder[:64]
            return markup
        _obj_bool(raw, "remove_keyboard")
        markup = {"remove_keyboard": True}
        if _obj_bool(raw, "selective"):
            markup["selective"] = True
        return markup

    def _inline_keyboard(self, rows: Any) -> JSON | None:
        prefix = "can't parse inline keyboard button"
        if not isinstance(rows, list):
            raise _bad('field "inline_keyboard" must be of type Array')
        parsed_rows = []
        count = 0
        for row in rows:
            if not isinstance(row, list):
                raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup should be an '
                           "Array of Arrays")  # fmt: skip
            parsed_row = []
            for button in row:
                if not isinstance(button, dict):
                    raise _bad(f"{prefix}: InlineKeyboardButton should be an Object")
                parsed_row.append(self._inline_button(button, prefix))
                count += 1
            if parsed_row:
                parsed_rows.append(parsed_row)
        if count > MAX_INLINE_BUTTONS:
            raise _bad("reply markup is too long")
        # An empty keyboard is no keyboard: that is how a bot removes one.
        return {"inline_keyboard": parsed_rows} if parsed_rows else None

    def _inline_button(self, button: JSON, prefix: str) -> JSON:
        text = _obj_str(button, "text", prefix, required=True)
        action = next((a for a in _BUTTON_ACTIONS if button.get(a) not in (None, "", False)), None)
        if action is None:
            raise _bad(f"{prefix}: Text buttons are unallowed in the inline keyboard")
        value = button[action]
        result: JSON = {"text": text}
        if action == "callback_data":
            data = _obj_str(button, "callback_data", prefix) or ""
            if not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
                raise _bad("BUTTON_DATA_INVALID")
            result["callback_data"] = data
        elif action == "url":
            url = _obj_str(button, "url", prefix) or ""
            checked, reason = th.check_link(url)
            if checked is None:
                raise _bad(f"inline keyboard button URL '{url}' is invalid: {reason}")
            result["url"] = checked
        elif action in ("callback_game", "pay"):
            raise _bad("BUTTON_TYPE_INVALID")
        elif action == "login_url":
            raise _bad("BOT_DOMAIN_INVALID")
        elif action == "web_app":
            url = value.get("url", "") if isinstance(value, dict) else ""
            if not str(url).lower().startswith("https://"):
                raise _bad(
                    f"inline keyboard button Web App URL '{url}' is invalid: Only HTTPS links "
                    "are allowed"
                )
            result["web_app"] = {"url": url}
        elif action == "copy_text":
            copied = value.get("text") if isinstance(value, dict) else None
            if not isinstance(copied, str) or not 1 <= len(copied) <= 256:
                raise _bad("BUTTON_COPY_TEXT_INVALID")
            result["copy_text"] = {"text": copied}
        else:
            result[action] = value
        return result
