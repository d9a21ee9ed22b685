using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.Pipelines;

/// <summary>
/// The condition language: comparisons (<c>== != &lt; &lt;= &gt; &gt;=</c>), <c>&amp;&amp;</c>, <c>||</c>, <c>!</c>,
/// parentheses, literals (numbers, 'strings' or "strings", true, false, null) and data paths. Parsed into a small
/// tree once; evaluation only reads JSON. No eval, no reflection, no calls.
/// </summary>
public abstract class Condition
{
    public const int MaxLength = 2000;

    /// <summary>How deeply parentheses and '!' may nest; the parser and the evaluator recurse once per level.</summary>
    public const int MaxNesting = 64;

    public abstract JsonNode? Evaluate(JsonNode context);

    public abstract IEnumerable<DataPath> Paths { get; }

    public bool IsTrue(JsonNode context) => Truthy(Evaluate(context));

    public static Condition Parse(string text)
    {
        if (text.Length > MaxLength)
        {
            throw new ExpressionException($"is longer than {MaxLength} characters.");
        }

        var parser = new Parser(Tokenize(text));
        var condition = parser.Or();
        if (!parser.AtEnd)
        {
            throw new ExpressionException($"unexpected '{parser.Peek.Text}' at position {parser.Peek.Position + 1}.");
        }

        return condition;
    }

    // Values come from parsed JSON (outputs are round-tripped through text before they are read), so kinds are reliable.
    internal static bool Truthy(JsonNode? value) => value?.GetValueKind() switch
    {
        null or JsonValueKind.Null or JsonValueKind.False or JsonValueKind.Undefined => false,
        JsonValueKind.Number => value.GetValue<double>() != 0,
        JsonValueKind.String => value.GetValue<string>().Length > 0,
        _ => true,
    };

    private enum Kind { Number, String, Word, Path, Operator, End }

    private readonly record struct Token(Kind Kind, string Text, int Position);

    private static List<Token> Tokenize(string text)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
            }
            else if (c is '\'' or '"')
            {
                var value = new StringBuilder();
                var start = i++;
                while (i < text.Length && text[i] != c)
                {
                    if (text[i] == '\\' && i + 1 < text.Length)
                    {
                        i++;
                    }

                    value.Append(text[i++]);
                }

                if (i >= text.Length)
                {
                    throw new ExpressionException($"the string starting at position {start + 1} is not closed.");
                }

                i++;
                tokens.Add(new Token(Kind.String, value.ToString(), start));
            }
            else if (char.IsAsciiDigit(c) || (c == '-' && i + 1 < text.Length && char.IsAsciiDigit(text[i + 1])))
            {
                var start = i++;
                while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] is '.' or 'e' or 'E'))
                {
                    i++;
                }

                tokens.Add(new Token(Kind.Number, text[start..i], start));
            }
            else if (char.IsAsciiLetter(c) || c == '_')
            {
                var start = i;
                while (i < text.Length && (char.IsAsciiLetterOrDigit(text[i]) || text[i] is '_' or '-' or '.' or '[' or ']'))
                {
                    i++;
                }

                var word = text[start..i];
                tokens.Add(new Token(word is "true" or "false" or "null" ? Kind.Word : Kind.Path, word, start));
            }
            else
            {
                var two = i + 1 < text.Length ? text.Substring(i, 2) : "";
                if (two is "==" or "!=" or "<=" or ">=" or "&&" or "||")
                {
                    tokens.Add(new Token(Kind.Operator, two, i));
                    i += 2;
                }
                else if (c is '<' or '>' or '!' or '(' or ')')
                {
                    tokens.Add(new Token(Kind.Operator, c.ToString(), i));
                    i++;
                }
                else
                {
                    throw new ExpressionException($"'{c}' at position {i + 1} is not part of the condition language (comparisons, &&, ||, !, literals, paths).");
                }
            }
        }

        tokens.Add(new Token(Kind.End, "end of expression", text.Length));
        return tokens;
    }

    private sealed class Parser(List<Token> tokens)
    {
        private int index;
        private int nesting;

        public Token Peek => tokens[index];

        public bool AtEnd => Peek.Kind == Kind.End;

        public Condition Or()
        {
            var left = And();
            while (Accept("||"))
            {
                left = new Logical(left, And(), isAnd: false);
            }

            return left;
        }

        private Condition And()
        {
            var left = Unary();
            while (Accept("&&"))
            {
                left = new Logical(left, Unary(), isAnd: true);
            }

            return left;
        }

        private Condition Unary()
        {
            var position = Peek.Position;
            if (!Accept("!"))
            {
                return Comparison();
            }

            Enter(position);
            var operand = Unary();
            nesting--;
            return new Not(operand);
        }

        /// <summary>
        /// Each '(' or '!' costs several nested calls here and in evaluation: without a bound, a 2,000-character
        /// "((((…" sent to /validate would overflow the stack and take the process down.
        /// </summary>
        private void Enter(int position)
        {
            if (++nesting > MaxNesting)
            {
                throw new ExpressionException($"nests parentheses and '!' more than {MaxNesting} levels deep at position {position + 1}.");
            }
        }

        private Condition Comparison()
        {
            var left = Primary();
            if (Peek.Kind == Kind.Operator && Peek.Text is "==" or "!=" or "<" or "<=" or ">" or ">=")
            {
                var op = tokens[index++].Text;
                return new Compare(left, op, Primary());
            }

            return left;
        }

        private Condition Primary()
        {
            var token = tokens[index];
            switch (token.Kind)
            {
                case Kind.Number:
                    index++;
                    return double.TryParse(token.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
                        ? new Literal(JsonValue.Create(number))
                        : throw new ExpressionException($"'{token.Text}' at position {token.Position + 1} is not a number.");
                case Kind.String:
                    index++;
                    return new Literal(JsonValue.Create(token.Text));
                case Kind.Word:
                    index++;
                    return new Literal(token.Text switch { "true" => JsonValue.Create(true), "false" => JsonValue.Create(false), _ => null });
                case Kind.Path:
                    index++;
                    return new PathValue(DataPath.Parse(token.Text));
                case Kind.Operator when token.Text == "(":
                    index++;
                    Enter(token.Position);
                    var inner = Or();
                    if (!Accept(")"))
                    {
                        throw new ExpressionException($"expected ')' at position {Peek.Position + 1}.");
                    }

                    nesting--;
                    return inner;
                default:
                    throw new ExpressionException($"expected a value at position {token.Position + 1}, found '{token.Text}'.");
            }
        }

        private bool Accept(string op)
        {
            if (Peek.Kind == Kind.Operator && Peek.Text == op)
            {
                index++;
                return true;
            }

            return false;
        }
    }

    private sealed class Literal(JsonNode? value) : Condition
    {
        public override IEnumerable<DataPath> Paths => [];

        public override JsonNode? Evaluate(JsonNode context) => value?.DeepClone();
    }

    private sealed class PathValue(DataPath path) : Condition
    {
        public override IEnumerable<DataPath> Paths => [path];

        public override JsonNode? Evaluate(JsonNode context) => path.Evaluate(context, out _)?.DeepClone();
    }

    private sealed class Not(Condition operand) : Condition
    {
        public override IEnumerable<DataPath> Paths => operand.Paths;

        public override JsonNode? Evaluate(JsonNode context) => JsonValue.Create(!operand.IsTrue(context));
    }

    private sealed class Logical(Condition left, Condition right, bool isAnd) : Condition
    {
        public override IEnumerable<DataPath> Paths => left.Paths.Concat(right.Paths);

        public override JsonNode? Evaluate(JsonNode context) =>
            JsonValue.Create(isAnd ? left.IsTrue(context) && right.IsTrue(context) : left.IsTrue(context) || right.IsTrue(context));
    }

    private sealed class Compare(Condition left, string op, Condition right) : Condition
    {
        public override IEnumerable<DataPath> Paths => left.Paths.Concat(right.Paths);

        public override JsonNode? Evaluate(JsonNode context)
        {
            var a = left.Evaluate(context);
            var b = right.Evaluate(context);
            if (op is "==" or "!=")
            {
                var equal = NumberOf(a) is { } x && NumberOf(b) is { } y ? x == y : JsonNode.DeepEquals(a, b);
                return JsonValue.Create(op == "==" ? equal : !equal);
            }

            int? order = NumberOf(a) is { } m && NumberOf(b) is { } n ? m.CompareTo(n)
                : StringOf(a) is { } s && StringOf(b) is { } t ? string.CompareOrdinal(s, t)
                : null;
            // Ordering values of different kinds (a number and a string, a missing value) is false, not an error.
            return JsonValue.Create(order is { } o && op switch { "<" => o < 0, "<=" => o <= 0, ">" => o > 0, _ => o >= 0 });
        }

        private static double? NumberOf(JsonNode? node) => node is JsonValue v && v.GetValueKind() == JsonValueKind.Number ? v.GetValue<double>() : null;

        private static string? StringOf(JsonNode? node) => node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
    }
}
