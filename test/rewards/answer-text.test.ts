/** The shared rule for what a completion's answer is (`rewards/answerText.ts`). */
import { describe, expect, it } from 'vitest';
import { answerText, assistantTurns, finalAnswerText, NoAnswer } from '../../rewards/answerText.js';

describe('answerText', () => {
  it('is the whole text without reasoning tags', () => {
    expect(answerText('The area is 54.')).toEqual({ text: 'The area is 54.', reasoning: '' });
  });

  it('is the text after the last </think>', () => {
    const s = answerText('<think>a</think>draft<think>b</think> final');
    expect(s.text).toBe(' final');
    expect(s.reasoning).toBe('<think>a</think>draft<think>b</think>');
  });

  it('a lone </think> (the template opened the block) ends the reasoning', () => {
    expect(answerText('guess 30, check 6*9=54</think>So the area is 54.').text).toBe('So the area is 54.');
  });

  it('an unclosed <think> means no answer, also after an earlier closed block', () => {
    expect(answerText('<think>the answer is 54')).toEqual({
      text: null,
      reasoning: '<think>the answer is 54',
      missing: NoAnswer.unclosedThink,
    });
    expect(answerText('<think>a</think>The answer is 5. <think>wait, 6?').missing).toBe(
      NoAnswer.unclosedThink,
    );
  });

  it('a sample cut at the token limit has no answer; other finish reasons do', () => {
    expect(answerText('The answer is \\boxed{5', { finishReason: 'length' })).toMatchObject({
      text: null,
      missing: NoAnswer.truncated,
    });
    expect(answerText('<think>x</think>42', { finishReason: 'length' }).reasoning).toBe('<think>x</think>');
    expect(answerText('42', { finishReason: 'stop' }).text).toBe('42');
    expect(answerText('42', { finishReason: 'eos' }).text).toBe('42');
  });

  it('an empty answer after the reasoning is an empty string, not null', () => {
    expect(answerText('<think>x</think>').text).toBe('');
  });
});

describe('assistantTurns and finalAnswerText', () => {
  it('raw text is one turn with the trajectory finish reason', () => {
    expect(assistantTurns({ completion: 'x', completionTokens: 1, finishReason: 'length' })).toEqual([
      { content: 'x', finishReason: 'length' },
    ]);
  });

  it('reads the last assistant turn with its own finish reason, else the trajectory one', () => {
    const turns = [
      { role: 'user', content: 'q' },
      { role: 'assistant', content: '<think>a</think>call', finishReason: 'length' },
      { role: 'tool', content: 'r' },
      { role: 'assistant', content: '<think>b</think> 12' },
    ];
    const t = { completion: 'ignored', completionTokens: 3, turns, finishReason: 'eos' };
    expect(assistantTurns(t)).toEqual([
      { content: '<think>a</think>call', finishReason: 'length' },
      { content: '<think>b</think> 12', finishReason: 'eos' },
    ]);
    expect(finalAnswerText(t).text).toBe(' 12');
    expect(finalAnswerText({ ...t, finishReason: 'length' }).missing).toBe(NoAnswer.truncated);
  });
});
